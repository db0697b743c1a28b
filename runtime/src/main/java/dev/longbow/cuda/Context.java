package dev.longbow.cuda;

import static dev.longbow.bindings.cuda.cuda_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One retain of a device's primary context: the context the CUDA runtime, PyTorch and NCCL use
 * too, so memory and streams made here interoperate with theirs. A rank is a thread: it calls
 * {@link #makeCurrent()} once, and every later driver call on that thread works in this context.
 */
public final class Context implements AutoCloseable {
    private final int ordinal;
    private final int device;
    private final MemorySegment handle;
    private boolean closed;

    private Context(int ordinal, int device, MemorySegment handle) {
        this.ordinal = ordinal;
        this.device = device;
        this.handle = handle;
    }

    /** Retains the primary context of device {@code ordinal}; {@link #close()} releases it. */
    public static Context primary(int ordinal) {
        int device = Cuda.deviceHandle(ordinal);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment context = arena.allocate(C_POINTER);
            CudaException.check("cuDevicePrimaryCtxRetain", cuDevicePrimaryCtxRetain(context, device));
            return new Context(ordinal, device, context.get(C_POINTER, 0));
        }
    }

    /** Makes this context current on the calling thread (cheap; idempotent). */
    public Context makeCurrent() {
        requireOpen();
        CudaException.check("cuCtxSetCurrent", cuCtxSetCurrent(handle));
        return this;
    }

    /** Blocks until all work in this context has finished; the context must be current. */
    public void synchronize() {
        requireOpen();
        CudaException.check("cuCtxSynchronize", cuCtxSynchronize());
    }

    /** Free and total device memory as the driver sees it now; the context must be current. */
    public MemoryInfo memoryInfo() {
        requireOpen();
        return MemoryInfo.query();
    }

    public int ordinal() {
        return ordinal;
    }

    public DeviceProperties properties() {
        return Cuda.device(ordinal);
    }

    MemorySegment handle() {
        return handle;
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("context of device " + ordinal + " is closed");
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            CudaException.check("cuDevicePrimaryCtxRelease_v2", cuDevicePrimaryCtxRelease_v2(device));
        }
    }

    @Override
    public String toString() {
        return "Context[device " + ordinal + "]";
    }
}
