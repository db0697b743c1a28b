/** Attention and model kernels shipped as PTX, the CUDA backend that launches them, and the in-process device communicator. */
module dev.longbow.kernels {
    requires dev.longbow.runtime;

    provides dev.longbow.backend.BackendProvider with dev.longbow.kernels.CudaBackendProvider;
    provides dev.longbow.comm.RankLauncher with dev.longbow.kernels.comm.DeviceLauncher;
}
