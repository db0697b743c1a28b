package dev.longbow.kernels;

import dev.longbow.backend.Backend;
import dev.longbow.backend.TensorOps;
import dev.longbow.cuda.Stream;

/**
 * A cuda backend's elementwise kernels on another stream of its context: how the device
 * communicator ({@code dev.longbow.kernels.comm}) sums on its communication stream with the
 * kernels and argument checks the backend's own ops use.
 */
public final class StreamOps {
    private StreamOps() {
    }

    /** {@code backend}'s convert, axpy, fill and copy, issued on {@code stream} instead of its compute stream. */
    public static TensorOps on(Backend backend, Stream stream) {
        if (backend instanceof CudaBackend cuda) {
            return cuda.tensorsOn(stream);
        }
        throw new IllegalArgumentException("backend '" + backend.name() + "' (" + backend.getClass().getName()
                + ") is not the cuda backend of dev.longbow.kernels; its kernels cannot be issued on " + stream);
    }
}
