package dev.longbow.comm.nccl;

import dev.longbow.cuda.CudaCompute;
import dev.longbow.backend.Pending;
import dev.longbow.cuda.Context;
import dev.longbow.cuda.Event;
import dev.longbow.cuda.Stream;

/**
 * One rank's communication stream beside its backend's compute stream, and the events that
 * order the two. Before every NCCL call the communication stream waits for the compute stream's
 * work so far ({@link #commAfterCompute}); afterwards an event marks the call's end, and
 * {@link #computeAfter} makes the compute stream wait for it. The host never waits.
 *
 * <p>A rank's communicator and all its sub-communicators share this one stream, so NCCL calls
 * run in the rank's program order: ranks that issue them in the same order cannot deadlock on
 * two communicators' kernels waiting for each other.
 */
final class RankStreams implements AutoCloseable {
    /** Calls in flight whose end events are still distinct (see {@link #markCommEnd}). */
    private static final int EVENTS = 32;

    private final Context context;
    private final Stream compute;
    private final Stream comm;
    private final Event[] computeMarks = new Event[EVENTS];
    private final Event[] commMarks = new Event[EVENTS];
    private int next;
    private boolean closed;

    /** Opens the communication stream in the backend's context; the compute stream stays the backend's. */
    RankStreams(CudaCompute backend) {
        this.context = backend.context().makeCurrent();
        this.compute = backend.computeStream();
        this.comm = Stream.create(compute.name() + "-comm");
        for (int i = 0; i < EVENTS; i++) {
            computeMarks[i] = Event.createForOrdering();
            commMarks[i] = Event.createForOrdering();
        }
    }

    /** The stream NCCL calls are issued on, after {@link #commAfterCompute()}. */
    Stream comm() {
        return comm;
    }

    /** Makes the rank's context current on the calling thread (NCCL works on the current device). */
    void makeCurrent() {
        requireOpen();
        context.makeCurrent();
    }

    /** Makes the context current on the calling thread and the communication stream wait for all compute issued so far. */
    void commAfterCompute() {
        makeCurrent();
        comm.waitFor(computeMarks[next].record(compute));
    }

    /**
     * An event after everything issued so far on the communication stream. The events come from a
     * ring: one recorded again by a later call marks that later call's end, which is later on the
     * same stream, so waiting for it still waits for the earlier call (only a little longer).
     */
    Event markCommEnd() {
        Event end = commMarks[next].record(comm);
        next = (next + 1) % EVENTS;
        return end;
    }

    /** Work the compute stream issues after {@link Pending#await()} waits for {@code end}. */
    Pending computeAfter(Event end) {
        return () -> {
            makeCurrent();
            compute.waitFor(end);
        };
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("the communication streams of " + compute + " are closed");
        }
    }

    /** Destroys the communication stream and the events (the driver frees them once pending work is done). */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        context.makeCurrent();
        for (int i = 0; i < EVENTS; i++) {
            computeMarks[i].close();
            commMarks[i].close();
        }
        comm.close();
    }
}
