package dev.longbow.cuda;

import static dev.longbow.bindings.cuda.cuda_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A CUDA event: a point in a stream's work that other streams can wait for and the host can
 * time. Timing events cost a little more to record; {@link #createForOrdering()} makes the cheap
 * kind for pure cross-stream ordering.
 */
public final class Event implements AutoCloseable {
    private final MemorySegment handle;
    private final boolean timing;
    private boolean closed;

    private Event(MemorySegment handle, boolean timing) {
        this.handle = handle;
        this.timing = timing;
    }

    /** An event that can be timed with {@link #elapsedMillis}. */
    public static Event create() {
        return create(CU_EVENT_DEFAULT(), true);
    }

    /** An event for ordering streams only: it cannot be timed. */
    public static Event createForOrdering() {
        return create(CU_EVENT_DISABLE_TIMING(), false);
    }

    private static Event create(int flags, boolean timing) {
        CudaDriver.require();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment event = arena.allocate(C_POINTER);
            CudaException.check("cuEventCreate", cuEventCreate(event, flags));
            return new Event(event.get(C_POINTER, 0), timing);
        }
    }

    /** Marks the point after all work issued so far on {@code stream}. */
    public Event record(Stream stream) {
        CudaException.check("cuEventRecord", cuEventRecord(handle(), stream.handle()));
        return this;
    }

    /** Makes {@code stream}'s later work wait for this event. */
    public Event makeWait(Stream stream) {
        stream.waitFor(this);
        return this;
    }

    /** Blocks the calling thread until the recorded work has finished. */
    public void synchronize() {
        CudaException.check("cuEventSynchronize", cuEventSynchronize(handle()));
    }

    /** Whether the recorded work has finished; never blocks. */
    public boolean isDone() {
        int result = cuEventQuery(handle());
        if (result == Stream.NOT_READY) {
            return false;
        }
        CudaException.check("cuEventQuery", result);
        return true;
    }

    /** Milliseconds from {@code start} to {@code end} (both recorded and finished; resolution about 0.5 us). */
    public static float elapsedMillis(Event start, Event end) {
        if (!start.timing || !end.timing) {
            throw new IllegalArgumentException("elapsed time needs two timing events; one was made with createForOrdering()");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment millis = arena.allocate(C_FLOAT);
            CudaException.check("cuEventElapsedTime_v2", cuEventElapsedTime_v2(millis, start.handle(), end.handle()));
            return millis.get(C_FLOAT, 0);
        }
    }

    MemorySegment handle() {
        if (closed) {
            throw new IllegalStateException("event is closed");
        }
        return handle;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            CudaException.check("cuEventDestroy_v2", cuEventDestroy_v2(handle));
        }
    }
}
