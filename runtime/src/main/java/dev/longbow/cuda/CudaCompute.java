package dev.longbow.cuda;

/**
 * A backend whose operations run on one CUDA stream. A GPU communicator (NCCL) orders its
 * transfers with the rank's compute through events on this stream, never through host waits,
 * so a backend implements this to be served by one.
 */
public interface CudaCompute {

    /** The device context the stream belongs to, made current on a thread before it issues work there. */
    Context context();

    /** The stream every operation of the backend is issued on, in program order. */
    Stream computeStream();
}
