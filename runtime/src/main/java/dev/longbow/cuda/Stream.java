package dev.longbow.cuda;

import static dev.longbow.bindings.cuda.cuda_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A named CUDA stream of the current context. Streams are non-blocking (they do not synchronise
 * with the legacy default stream); work on two streams is ordered only through {@link Event}s.
 */
public final class Stream implements AutoCloseable {
    /** CUDA_ERROR_NOT_READY: queried work is still running. */
    static final int NOT_READY = 600;

    private final String name;
    private final MemorySegment handle;
    private boolean closed;

    private Stream(String name, MemorySegment handle) {
        this.name = name;
        this.handle = handle;
    }

    /** A new stream in the calling thread's current context; the name appears in messages and traces. */
    public static Stream create(String name) {
        CudaDriver.require();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment stream = arena.allocate(C_POINTER);
            CudaException.check("cuStreamCreate", cuStreamCreate(stream, CU_STREAM_NON_BLOCKING()));
            return new Stream(name, stream.get(C_POINTER, 0));
        }
    }

    /** Later work on this stream waits until {@code event} has happened; the host does not wait. */
    public Stream waitFor(Event event) {
        CudaException.check("cuStreamWaitEvent", cuStreamWaitEvent(handle(), event.handle(), CU_EVENT_WAIT_DEFAULT()));
        return this;
    }

    /** Blocks the calling thread until all work issued on this stream has finished. */
    public void synchronize() {
        CudaException.check("cuStreamSynchronize", cuStreamSynchronize(handle()));
    }

    /** Whether all work issued on this stream has finished; never blocks. */
    public boolean isDone() {
        int result = cuStreamQuery(handle());
        if (result == NOT_READY) {
            return false;
        }
        CudaException.check("cuStreamQuery", result);
        return true;
    }

    public String name() {
        return name;
    }

    /** The CUstream, for bindings that take one (NCCL, cuBLAS). */
    public MemorySegment handle() {
        if (closed) {
            throw new IllegalStateException("stream '" + name + "' is closed");
        }
        return handle;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            CudaException.check("cuStreamDestroy_v2", cuStreamDestroy_v2(handle));
        }
    }

    @Override
    public String toString() {
        return "Stream[" + name + "]";
    }
}
