/**
 * The CUDA backend ("cuda"): attention and model kernels shipped as PTX, launched through the driver
 * API, cuBLAS for the matrix products; and the in-process device communicator ("device", several
 * ranks per GPU). No API of its own: on the module path it provides
 * {@link dev.longbow.backend.BackendProvider} and {@link dev.longbow.comm.RankLauncher}, which
 * {@link dev.longbow.backend.BackendChoice#CUDA} and {@link dev.longbow.comm.CommunicatorChoice}
 * find through {@link java.util.ServiceLoader}.
 */
module dev.longbow.kernels {
    requires dev.longbow.runtime;
    requires dev.longbow.bindings;

    provides dev.longbow.backend.BackendProvider with dev.longbow.kernels.CudaBackendProvider;
    provides dev.longbow.comm.RankLauncher with dev.longbow.kernels.comm.DeviceLauncher;
}
