package dev.longbow.kernels.comm;

import dev.longbow.backend.Backend;
import dev.longbow.cuda.CudaCompute;
import dev.longbow.backend.TensorOps;
import dev.longbow.cuda.Context;
import dev.longbow.cuda.Stream;
import dev.longbow.kernels.StreamOps;
import dev.longbow.tensor.Allocation;

/**
 * One rank's communication stream beside its backend's compute stream, the rank's ordering
 * events, and the backend's elementwise kernels on the communication stream (the sums of the
 * reductions). A rank's communicator and all its sub-communicators share them, so the rank's
 * transfers run in its program order. Owned by the launcher, which closes them once no peer
 * can wait for these events any more.
 */
final class DeviceStreams implements AutoCloseable {
    private final Backend backend;
    private final Context context;
    private final Stream compute;
    private final Stream comm;
    private final EventPool events = new EventPool();
    private final TensorOps commOps;
    private boolean closed;

    /** Opens the communication stream in the backend's context; the compute stream stays the backend's. */
    DeviceStreams(Backend backend) {
        CudaCompute cuda = requireCuda(backend);
        this.backend = backend;
        this.context = cuda.context().makeCurrent();
        this.compute = cuda.computeStream();
        this.comm = Stream.create(compute.name() + "-device-comm");
        this.commOps = StreamOps.on(backend, comm);
    }

    /** Makes the rank's context current on the calling thread; every call starts with it. */
    void makeCurrent() {
        if (closed) {
            throw new IllegalStateException("the communication stream of " + compute + " is closed");
        }
        context.makeCurrent();
    }

    /** An event after the compute stream's work so far, for {@code waits} waiters. */
    SharedEvent afterCompute(int waits) {
        return events.record(compute, waits);
    }

    /** An event after the communication stream's work so far, for {@code waits} waiters. */
    SharedEvent afterComm(int waits) {
        return events.record(comm, waits);
    }

    /** The communication stream's later work waits for {@code event} (any rank's). */
    void commWaitsFor(SharedEvent event) {
        event.makeWait(comm);
    }

    /** The compute stream's later work waits for {@code event} (any rank's). */
    void computeWaitsFor(SharedEvent event) {
        event.makeWait(compute);
    }

    Stream comm() {
        return comm;
    }

    /** Convert, axpy, fill and copy on the communication stream. */
    TensorOps commOps() {
        return commOps;
    }

    /**
     * Device memory for a call's sums and staging, from the backend's pool: it may go back to the
     * pool once the compute stream waits for the communication stream's work that used it.
     */
    Allocation scratch(long bytes) {
        return backend.allocate(bytes);
    }

    /** Events of this rank still waited for by someone (see {@link EventPool#outstanding}). */
    int eventsOutstanding() {
        return events.outstanding();
    }

    /** Blocks until the communication stream's work has finished: before peers' memory or these events go away. */
    void synchronize() {
        makeCurrent();
        comm.synchronize();
    }

    /** Destroys the events and the communication stream; every peer's waits on these events must be issued. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        context.makeCurrent();
        closed = true;
        try {
            events.close();
        } finally {
            comm.close();
        }
    }

    private static CudaCompute requireCuda(Backend backend) {
        if (backend instanceof CudaCompute cuda) {
            return cuda;
        }
        throw new IllegalStateException("the device communicator orders its copies with the backend's CUDA stream, but backend '"
                + backend.name() + "' (" + backend.getClass().getName() + ") does not expose one: it must implement "
                + CudaCompute.class.getName());
    }
}
