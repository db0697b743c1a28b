/** Attention and model kernels shipped as PTX, and the CUDA backend that launches them. */
module dev.longbow.kernels {
    requires dev.longbow.runtime;

    provides dev.longbow.backend.BackendProvider with dev.longbow.kernels.CudaBackendProvider;
}
