package dev.longbow.comm.nccl;

import dev.longbow.backend.Pending;
import dev.longbow.comm.Communicator;
import dev.longbow.comm.RankFailedException;
import dev.longbow.comm.Traffic;
import dev.longbow.cuda.DeviceBuffer;
import dev.longbow.cuda.Event;
import dev.longbow.cuda.Stream;
import dev.longbow.nccl.Nccl;
import dev.longbow.nccl.NcclComm;
import dev.longbow.nccl.NcclGroup;
import dev.longbow.nccl.NcclOp;
import dev.longbow.nccl.NcclUniqueId;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Tensor;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * A rank's endpoint of an NCCL group: the Communicator SPI on {@link NcclComm}. Every call is
 * enqueued on the rank's communication stream after the compute stream's work so far, and
 * collectives make the compute stream wait for their end (events, no host wait);
 * {@link #sendRecv} leaves that wait to its {@link Pending}, so compute overlaps the transfer.
 * Only {@link #barrier} blocks the host.
 *
 * <p>A {@link NcclWatchdog} watches each communicator: an asynchronous NCCL error, or a call
 * that has not finished within the collective timeout, fails the launch, which aborts every
 * communicator of it.
 *
 * <p>One thread (the rank's) makes the calls. When another rank of the launch fails,
 * {@link RankAbort} aborts this communicator from its own thread, which wakes a rank blocked
 * on a collective that can no longer complete; a lock keeps that abort from freeing the
 * communicator under a call in progress.
 */
public final class NcclCommunicator implements Communicator {
    private static final System.Logger LOG = System.getLogger(NcclCommunicator.class.getName());
    private static final long ABORT_PATIENCE_MILLIS = 2_000;
    private static final long POLL_NANOS = 20_000;

    private final NcclComm comm;
    private final RankStreams streams;
    private final RankAbort abort;
    private final ReentrantLock calls = new ReentrantLock();
    private final NcclWatchdog watchdog;
    private final Duration timeout;
    /** One int, all-reduced by {@link #barrier}. */
    private final DeviceBuffer barrierFlag;
    private final Tensor flag;
    private long sent;
    private long received;
    private boolean closed;
    private boolean released;

    private NcclCommunicator(NcclComm comm, RankStreams streams, RankAbort abort, Duration timeout) {
        this.comm = comm;
        this.streams = streams;
        this.abort = abort;
        this.timeout = timeout;
        streams.makeCurrent();
        this.barrierFlag = DeviceBuffer.allocate(DType.I32.byteSize());
        this.flag = new Tensor(barrierFlag.segment(), DType.I32, Shape.of(1), Placement.DEVICE);
        abort.register(this);
        this.watchdog = new NcclWatchdog(new NcclWatchdog.Watched() {
            @Override
            public void checkAsyncError() {
                pollAsyncError();
            }

            @Override
            public void fail(RuntimeException cause) {
                abort.abort(new RankFailedException(comm.rank(), comm.size(), cause));
            }

            @Override
            public String describe() {
                return "rank " + comm.rank() + " of " + comm.size();
            }
        }, timeout, NcclWatchdog.POLL, System::nanoTime).start();
    }

    /**
     * Joins the group of {@code size} ranks named by {@code id} as {@code rank}; blocks until every
     * rank has joined. Its calls fail the launch when they take longer than {@code timeout}.
     */
    static NcclCommunicator join(NcclUniqueId id, int size, int rank, RankStreams streams, RankAbort abort, Duration timeout) {
        streams.makeCurrent();
        return new NcclCommunicator(NcclComm.initRank(id, size, rank), streams, abort, timeout);
    }

    @Override
    public int rank() {
        return comm.rank();
    }

    @Override
    public int size() {
        return comm.size();
    }

    @Override
    public Pending sendRecv(Tensor send, int to, Tensor recv, int from) {
        checkPeer("to", to);
        checkPeer("from", from);
        requireDevice(send, recv);
        Event end = enqueue("sendRecv of " + send + " to rank " + to + " and " + recv + " from rank " + from, s -> {
            try (NcclGroup group = Nccl.group()) {
                comm.send(send, to, s);
                comm.recv(recv, from, s);
            }
        });
        count(to == rank() ? 0 : send.byteSize(), from == rank() ? 0 : recv.byteSize());
        return streams.computeAfter(end);
    }

    @Override
    public void allToAll(Tensor send, Tensor recv) {
        requireDevice(send, recv);
        collective("allToAll of " + send, s -> comm.allToAll(send, recv, s));
        long block = send.byteSize() / size();
        count((size() - 1) * block, (size() - 1) * block);
    }

    @Override
    public void allGather(Tensor send, Tensor recv) {
        requireDevice(send, recv);
        collective("allGather of " + send, s -> comm.allGather(send, recv, s));
        count((size() - 1) * send.byteSize(), (size() - 1) * send.byteSize());
    }

    @Override
    public void reduceScatter(Tensor send, Tensor recv) {
        requireDevice(send, recv);
        collective("reduceScatter of " + send, s -> comm.reduceScatter(send, recv, NcclOp.SUM, s));
        count((size() - 1) * recv.byteSize(), (size() - 1) * recv.byteSize());
    }

    @Override
    public void allReduce(Tensor inout) {
        requireDevice(inout, inout);
        collective("allReduce of " + inout, s -> comm.allReduce(inout, inout, NcclOp.SUM, s));
        long ring = 2 * (size() - 1) * inout.byteSize() / size();
        count(ring, ring);
    }

    /** An all-reduce of one int after the rank's compute so far; the host polls its end, watching for failures. */
    @Override
    public void barrier() {
        Event end = enqueue("barrier", s -> comm.allReduce(flag, flag, NcclOp.SUM, s));
        while (!end.isDone()) {
            abort.failIfAborted();
            checkAsyncError();
            LockSupport.parkNanos(POLL_NANOS);
        }
        abort.failIfAborted();    // an abort also ends the all-reduce: that is no barrier passed
    }

    /** NCCL orders the new group by key, then by rank in this one, as the SPI asks. */
    @Override
    public Communicator split(int color, int key) {
        if (color < 0) {
            throw new IllegalArgumentException("split color " + color + " must be >= 0");
        }
        abort.failIfAborted();
        NcclComm sub;
        calls.lock();
        try {
            requireOpen();
            streams.makeCurrent();
            sub = comm.split(color, key);
        } finally {
            calls.unlock();
        }
        return new NcclCommunicator(sub, streams, abort, timeout);
    }

    @Override
    public Traffic traffic() {
        return new Traffic(sent, received);
    }

    /**
     * Finalizes and destroys the NCCL communicator (waiting for this rank's calls in flight), or
     * aborts it when the launch has failed: then peers may never complete them.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        watchdog.close();
        abort.unregister(this);
        calls.lock();
        try {
            release(abort.aborted());
            streams.makeCurrent();
            barrierFlag.close();
        } finally {
            calls.unlock();
        }
    }

    /**
     * Aborts the NCCL communicator from whatever thread notices a failure. If the rank's own
     * thread is inside a blocking NCCL call (a split or a first connection waiting for a dead
     * peer) the lock is not granted and the communicator is left to it: freeing it under that
     * call would crash the process.
     */
    void abortFromAnyThread() {
        try {
            if (!calls.tryLock(ABORT_PATIENCE_MILLIS, TimeUnit.MILLISECONDS)) {
                LOG.log(System.Logger.Level.WARNING, "rank " + comm.rank() + " of " + comm.size()
                        + " is inside a blocking NCCL call; its communicator is not aborted");
                return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        try {
            release(true);
        } finally {
            calls.unlock();
        }
    }

    private void release(boolean abortIt) {
        if (released) {
            return;
        }
        released = true;
        streams.makeCurrent();
        if (abortIt) {
            comm.abort();
        } else {
            comm.close();
        }
    }

    /** Enqueues a collective and makes the compute stream wait for it. */
    private void collective(String call, Consumer<Stream> ncclCalls) {
        streams.computeAfter(enqueue(call, ncclCalls)).await();
    }

    /**
     * Issues {@code ncclCalls} on the communication stream after the compute so far; returns the
     * event after them, which the watchdog polls against the deadline.
     */
    private Event enqueue(String call, Consumer<Stream> ncclCalls) {
        abort.failIfAborted();
        calls.lock();
        try {
            requireOpen();
            streams.commAfterCompute();
            ncclCalls.accept(streams.comm());
            Event end = streams.markCommEnd();
            watchdog.track(call, () -> {
                streams.makeCurrent();
                return end.isDone();
            });
            return end;
        } finally {
            calls.unlock();
        }
    }

    /**
     * The watchdog's look at NCCL's asynchronous error. It never waits for the lock: while the
     * rank's thread is inside an NCCL call it looks again at the next poll, and once the
     * communicator is released there is nothing left to ask.
     */
    private void pollAsyncError() {
        if (!calls.tryLock()) {
            return;
        }
        try {
            if (!closed && !released) {
                streams.makeCurrent();
                comm.checkAsyncError();
            }
        } finally {
            calls.unlock();
        }
    }

    private void checkAsyncError() {
        calls.lock();
        try {
            requireOpen();
            comm.checkAsyncError();
        } finally {
            calls.unlock();
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
        abort.failIfAborted();
        if (released) {
            throw new IllegalStateException(this + " was aborted");
        }
    }

    private void checkPeer(String role, int peer) {
        if (peer < 0 || peer >= size()) {
            throw new IllegalArgumentException("sendRecv " + role + " rank " + peer + " outside group of " + size());
        }
    }

    private static void requireDevice(Tensor... tensors) {
        for (Tensor t : tensors) {
            if (t.placement() != Placement.DEVICE) {
                throw new IllegalArgumentException("the NCCL communicator moves device tensors, got " + t);
            }
        }
    }

    private void count(long bytesSent, long bytesReceived) {
        sent += bytesSent;
        received += bytesReceived;
    }

    @Override
    public String toString() {
        return "NcclCommunicator[rank " + comm.rank() + " of " + comm.size() + "]";
    }
}
