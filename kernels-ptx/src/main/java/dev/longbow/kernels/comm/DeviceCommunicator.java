package dev.longbow.kernels.comm;

import dev.longbow.backend.Pending;
import dev.longbow.backend.TensorOps;
import dev.longbow.comm.CollectiveMismatchException;
import dev.longbow.comm.CollectiveTimeout;
import dev.longbow.comm.CollectiveTimeoutException;
import dev.longbow.comm.Communicator;
import dev.longbow.comm.Traffic;
import dev.longbow.comm.GroupAbortedException;
import dev.longbow.cuda.DeviceMemory;
import dev.longbow.comm.Meetings.Meeting;
import dev.longbow.kernels.comm.PointToPoint.Half;
import dev.longbow.tensor.Allocation;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.IntStream;

/**
 * A rank's endpoint of an in-process device group: ranks are threads of one JVM, each with its
 * own cuda backend (its compute stream) and a communication stream ({@link DeviceStreams}), on one
 * GPU or on several. Tensors move with device-to-device copies ({@code cuMemcpyAsync}: unified
 * addressing, across GPUs too, no peer access needed); sums run on this rank's communication
 * stream with the backend's kernels, after every peer's block was copied into this rank's memory.
 * The ranks meet on the host ({@link DeviceGroup}) only to exchange buffer addresses and events;
 * the host never waits for GPU work except in {@link #barrier}.
 *
 * <h2>The event protocol</h2>
 * A buffer a peer reads is read on the peer's communication stream, so for every buffer two
 * orders must hold: the reader reads only after the owner has written it, and the owner writes
 * it again only after every reader has read it. Events are the only cross-stream order.
 *
 * <p>Collective on rank r (all-to-all, all-gather, reduce-scatter, all-reduce):
 * <ol>
 * <li>READY_r is recorded on r's compute stream: r's send is written, its recv no longer read.
 *     r meets the group with its send, recv and READY_r; the calls (kind, dtype, counts) must agree.</li>
 * <li>r's communication stream waits for READY_q of every rank q, then reads every rank's send:
 *     copies straight into r's recv, or, for sums, each peer's block copied into local staging and
 *     added in rank order into an fp32 accumulator (axpy), so every rank gets the same bits.</li>
 * <li>READ_r is recorded on r's communication stream ("r has read every send") and r meets the
 *     group again with it.</li>
 * <li>r's compute stream waits for READ_q of every q: READ_r because r's recv is now complete,
 *     the others' because r's send has been read, so r's later compute may write it (and the pool
 *     may hand the memory to another tensor). Where r's result cannot be written into recv
 *     before the peers have read r's buffers (all-reduce is in place; a recv overlapping the
 *     send; the rounding of every sum into recv) it went to scratch in step 2: the
 *     communication stream waits for every READ_q, writes recv, and the compute stream waits
 *     for the event after that write.</li>
 * </ol>
 *
 * <p>sendRecv: each side records READY after its compute so far and posts its half on the
 * pair's channel ({@link PointToPoint}), returning at once. The side that posts second makes its
 * communication stream wait for both sides' READY, copies, and records DONE. Each side's
 * {@link Pending#await()} makes its compute stream wait for DONE: the receiver's before it reads
 * recv, the sender's before it writes send again.
 *
 * <p>barrier: the communication stream waits for the compute stream, records an event, and the
 * ranks exchange them; each rank's communication stream waits for all of them and the host polls
 * the event after that: it returns once every rank's work issued before the barrier is done.
 *
 * <p>An event is recorded only by its owner, on its own thread, and recorded again only after
 * every wait on it has been issued ({@link SharedEvent}): a wait never sees a later record. Every
 * wait refers to a record issued earlier on the host, so the streams cannot wait in a cycle.
 *
 * <p>One thread (the rank's) makes the calls. Every host wait has the group's deadline; a rank
 * that fails aborts the group (the launcher does it), and ranks blocked in a meeting or an
 * await wake with an error naming the cause.
 */
public final class DeviceCommunicator implements Communicator {
    private static final long BARRIER_POLL_NANOS = 20_000;

    private final DeviceGroup group;
    private final int rank;
    private final DeviceStreams streams;
    private long collectives;
    private long transfers;
    private long sent;
    private long received;
    private boolean closed;

    /** What a rank brings to a collective's first meeting. */
    private record Buffers(Tensor send, Tensor recv, SharedEvent ready) {
    }

    /** Issues this rank's reads of every rank's buffers on the communication stream, into {@code target}. */
    @FunctionalInterface
    private interface Reads {
        void issue(Buffers[] all, Tensor target);
    }

    DeviceCommunicator(DeviceGroup group, int rank, DeviceStreams streams) {
        this.group = group;
        this.rank = rank;
        this.streams = streams;
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int size() {
        return group.size;
    }

    @Override
    public Pending sendRecv(Tensor send, int to, Tensor recv, int from) {
        requireOpen();
        checkPeer("to", to);
        checkPeer("from", from);
        requireDevice("sendRecv", send, recv);
        streams.makeCurrent();
        String what = "sendRecv #" + ++transfers + " of rank " + rank;
        SharedEvent ready = streams.afterCompute(2);    // waited for by the copy out and the copy in
        Half out = new Half(rank, send, ready, what + " (send of " + send + " to rank " + to + ")");
        Half in = new Half(rank, recv, ready, what + " (receive into " + recv + " from rank " + from + ")");
        Half receiver = group.transfers.postSend(out, to);
        if (receiver != null) {
            transfer(out, receiver);
        }
        Half sender = group.transfers.postRecv(in, from);
        if (sender != null) {
            transfer(sender, in);
        }
        count(to == rank ? 0 : send.byteSize(), from == rank ? 0 : recv.byteSize());
        AtomicBoolean awaited = new AtomicBoolean();
        return () -> {
            if (awaited.compareAndSet(false, true)) {
                SharedEvent outDone = matched(out, to);
                SharedEvent inDone = matched(in, from);
                streams.makeCurrent();
                streams.computeWaitsFor(outDone);
                streams.computeWaitsFor(inDone);
            }
        };
    }

    /** The copy of a matched pair on this rank's communication stream, after both sides' READY. */
    private void transfer(Half send, Half recv) {
        try {
            if (send.tensor().byteSize() != recv.tensor().byteSize() || send.tensor().dtype() != recv.tensor().dtype()) {
                CollectiveMismatchException e = new CollectiveMismatchException(send.what() + " does not fit " + recv.what()
                        + ": a send and its receive must have the same dtype and size");
                group.abort(e);
                throw e;
            }
            streams.commWaitsFor(send.ready());
            streams.commWaitsFor(recv.ready());
            DeviceMemory.unifiedCopy(send.tensor().data(), recv.tensor().data(), streams.comm());
            SharedEvent done = streams.afterComm(2);     // waited for by the sender's and the receiver's await
            send.done().complete(done);
            recv.done().complete(done);
        } catch (RuntimeException e) {
            send.done().completeExceptionally(e);
            recv.done().completeExceptionally(e);
            throw e;
        }
    }

    /** The end event of {@code half}'s copy, once its peer has posted the other half (host wait, with the deadline). */
    private SharedEvent matched(Half half, int peer) {
        try {
            return half.done().get(group.timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            CollectiveTimeoutException t = new CollectiveTimeoutException(half.what() + " was not matched within "
                    + CollectiveTimeout.format(group.timeout) + ": rank " + peer + " posted no matching sendRecv (its last"
                    + " collective on this group: " + group.lastCallOf(peer) + "); raise " + CollectiveTimeout.VARIABLE
                    + " if a rank legitimately needs longer");
            group.abort(t);
            throw t;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            GroupAbortedException a = new GroupAbortedException("interrupted while waiting for " + half.what(), e);
            group.abort(a);
            throw a;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof CollectiveMismatchException m) {
                throw new CollectiveMismatchException(m.getMessage());
            }
            throw new GroupAbortedException(e.getCause());
        }
    }

    @Override
    public void allToAll(Tensor send, Tensor recv) {
        requireDevice("allToAll", send, recv);
        DeviceCall call = nextCall("allToAll", send, recv);
        copies(call, send, recv, () -> {
            requireSameDType(call, send, recv);
            if (send.byteSize() != recv.byteSize() || send.shape().rank() == 0 || send.dim(0) % size() != 0) {
                throw new IllegalArgumentException(call + ": send " + send + " and recv " + recv + " must have the same size and"
                        + " a leading dimension divisible by the group size " + size());
            }
        }, (all, target) -> {
            long block = send.byteSize() / size();
            for (int q = 0; q < size(); q++) {
                copy(all[q].send().data().asSlice(rank * block, block), target.data().asSlice(q * block, block));
            }
        });
        long block = send.byteSize() / size();
        count((size() - 1) * block, (size() - 1) * block);
    }

    @Override
    public void allGather(Tensor send, Tensor recv) {
        requireDevice("allGather", send, recv);
        DeviceCall call = nextCall("allGather", send, recv);
        copies(call, send, recv, () -> {
            requireSameDType(call, send, recv);
            if (recv.byteSize() != size() * send.byteSize()) {
                throw new IllegalArgumentException(call + ": recv " + recv + " must hold group size " + size() + " times send "
                        + send);
            }
        }, (all, target) -> {
            long block = send.byteSize();
            for (int q = 0; q < size(); q++) {
                copy(all[q].send().data(), target.data().asSlice(q * block, block));
            }
        });
        count((size() - 1) * send.byteSize(), (size() - 1) * send.byteSize());
    }

    @Override
    public void reduceScatter(Tensor send, Tensor recv) {
        requireDevice("reduceScatter", send, recv);
        DeviceCall call = nextCall("reduceScatter", send, recv);
        sum(call, send, recv, () -> {
            requireSameDType(call, send, recv);
            requireFloat(call, recv);
            if (send.byteSize() != size() * recv.byteSize()) {
                throw new IllegalArgumentException(call + ": send " + send + " must hold group size " + size() + " times recv "
                        + recv);
            }
        }, rank * recv.byteSize());
        count((size() - 1) * recv.byteSize(), (size() - 1) * recv.byteSize());
    }

    @Override
    public void allReduce(Tensor inout) {
        requireDevice("allReduce", inout);
        DeviceCall call = nextCall("allReduce", inout, inout);
        sum(call, inout, inout, () -> requireFloat(call, inout), 0);
        long ring = 2 * (size() - 1) * inout.byteSize() / size();
        count(ring, ring);
    }

    /** Blocks until every rank has called it and the GPU work each issued before it has finished. */
    @Override
    public void barrier() {
        requireOpen();
        DeviceCall call = new DeviceCall(++collectives, "barrier", "", DeviceCall.START);
        streams.makeCurrent();
        streams.commWaitsFor(streams.afterCompute(1));
        Meeting<DeviceCall> m = group.meet(rank, call, streams.afterComm(size()));
        for (int q = 0; q < size(); q++) {
            streams.commWaitsFor(m.of(q, SharedEvent.class));
        }
        SharedEvent everyone = streams.afterComm(1);
        long deadline = System.nanoTime() + group.timeout.toNanos();
        while (!everyone.isDone()) {
            group.failIfAborted();
            if (System.nanoTime() > deadline) {
                CollectiveTimeoutException t = new CollectiveTimeoutException(call + " on rank " + rank + ": the GPU work the "
                        + size() + " ranks issued before it did not finish within " + CollectiveTimeout.format(group.timeout)
                        + "; raise " + CollectiveTimeout.VARIABLE + " if a step legitimately takes longer");
                group.abort(t);
                throw t;
            }
            LockSupport.parkNanos(BARRIER_POLL_NANOS);
        }
        everyone.done();
    }

    /** Ranks of equal {@code color} form a group ordered by key, then by rank here; it shares this rank's streams. */
    @Override
    public Communicator split(int color, int key) {
        requireOpen();
        if (color < 0) {
            throw new IllegalArgumentException("split color " + color + " must be >= 0");
        }
        DeviceCall call = new DeviceCall(++collectives, "split", "", DeviceCall.START);
        Meeting<DeviceCall> asked = group.meet(rank, call, new int[] {color, key});
        List<Integer> members = IntStream.range(0, size()).filter(r -> asked.of(r, int[].class)[0] == color).boxed()
                .sorted(Comparator.comparingInt((Integer r) -> asked.of(r, int[].class)[1]).thenComparingInt(r -> r)).toList();
        int newRank = members.indexOf(rank);
        Meeting<DeviceCall> made = group.meet(rank, call.at("group made"), newRank == 0 ? group.split(members.size()) : null);
        return new DeviceCommunicator(made.of(members.getFirst(), DeviceGroup.class), newRank, streams);
    }

    @Override
    public Traffic traffic() {
        return new Traffic(sent, received);
    }

    /**
     * Leaves the group: ranks still waiting for this one fail at once. The streams and events stay
     * (the launcher closes them once no peer can wait for them).
     */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            group.release(rank);
        }
    }

    /**
     * All-to-all and all-gather: steps 1-4 of the protocol with copies. A recv that overlaps this
     * rank's send is written only after every peer has read the send, through scratch.
     */
    private void copies(DeviceCall call, Tensor send, Tensor recv, Runnable check, Reads reads) {
        Buffers[] all = start(call, send, recv, check);
        boolean inPlace = overlap(send.data(), recv.data());
        try (Allocation scratch = inPlace ? streams.scratch(recv.byteSize()) : null) {
            Tensor target = inPlace ? new Tensor(scratch.segment(), recv.dtype(), recv.shape(), Placement.DEVICE) : recv;
            reads.issue(all, target);
            SharedEvent[] read = readsIssued(call);
            if (inPlace) {
                writeAfter(read, () -> streams.commOps().copy(target, recv));
            } else {
                for (SharedEvent e : read) {
                    streams.computeWaitsFor(e);
                }
            }
        }
    }

    /**
     * Reduce-scatter and all-reduce: steps 1-4 with sums. Block {@code offset} of every rank's send
     * ({@code recv}'s size) is added in rank order in fp32, each peer's copied into staging here
     * first (a kernel reads only this GPU's memory); the sum is rounded into recv once every peer
     * has read this rank's send, which all-reduce overwrites.
     */
    private void sum(DeviceCall call, Tensor send, Tensor recv, Runnable check, long offset) {
        Buffers[] all = start(call, send, recv, check);
        long n = recv.numel();
        try (Allocation accMemory = streams.scratch(n * DType.F32.byteSize());
             Allocation stagingMemory = size() > 1 ? streams.scratch(recv.byteSize()) : null) {
            TensorOps ops = streams.commOps();
            Tensor acc = new Tensor(accMemory.segment(), DType.F32, Shape.of(n), Placement.DEVICE);
            ops.fill(acc, 0f);
            for (int q = 0; q < size(); q++) {
                Tensor block = flat(all[q].send().data().asSlice(offset, recv.byteSize()), recv.dtype(), n);
                if (q != rank) {
                    Tensor staged = flat(stagingMemory.segment(), recv.dtype(), n);
                    copy(block.data(), staged.data());
                    block = staged;
                }
                ops.axpy(1f, block, acc);
            }
            SharedEvent[] read = readsIssued(call);
            writeAfter(read, () -> ops.convert(acc, recv.view(n)));
        }
    }

    /** Steps 1 and 2: READY after the compute so far, the first meeting, the check, the communication stream after every READY. */
    private Buffers[] start(DeviceCall call, Tensor send, Tensor recv, Runnable check) {
        streams.makeCurrent();
        Meeting<DeviceCall> m = group.meet(rank, call, new Buffers(send, recv, streams.afterCompute(size())));
        check.run();
        Buffers[] all = new Buffers[size()];
        for (int q = 0; q < size(); q++) {
            all[q] = m.of(q, Buffers.class);
            streams.commWaitsFor(all[q].ready());
        }
        return all;
    }

    /** Step 3: READ after this rank's reads, and the second meeting; returns every rank's READ. */
    private SharedEvent[] readsIssued(DeviceCall call) {
        Meeting<DeviceCall> m = group.meet(rank, call.at("reads issued"), streams.afterComm(size()));
        SharedEvent[] read = new SharedEvent[size()];
        for (int q = 0; q < size(); q++) {
            read[q] = m.of(q, SharedEvent.class);
        }
        return read;
    }

    /** Step 4 through scratch: {@code write} on the communication stream once every rank has read, then the compute stream after it. */
    private void writeAfter(SharedEvent[] read, Runnable write) {
        for (SharedEvent e : read) {
            streams.commWaitsFor(e);
        }
        write.run();
        streams.computeWaitsFor(streams.afterComm(1));
    }

    private void copy(MemorySegment from, MemorySegment to) {
        DeviceMemory.unifiedCopy(from, to, streams.comm());
    }

    private DeviceCall nextCall(String kind, Tensor send, Tensor recv) {
        requireOpen();
        return new DeviceCall(++collectives, kind, send.dtype() + " x " + send.numel() + " -> " + recv.dtype() + " x "
                + recv.numel(), DeviceCall.START);
    }

    private static Tensor flat(MemorySegment memory, DType dtype, long n) {
        return new Tensor(memory, dtype, Shape.of(n), Placement.DEVICE);
    }

    private static boolean overlap(MemorySegment a, MemorySegment b) {
        return a.address() < b.address() + b.byteSize() && b.address() < a.address() + a.byteSize();
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
        group.failIfAborted();
    }

    private void checkPeer(String role, int peer) {
        if (peer < 0 || peer >= size()) {
            throw new IllegalArgumentException("sendRecv " + role + " rank " + peer + " outside group of " + size());
        }
    }

    private static void requireDevice(String op, Tensor... tensors) {
        for (Tensor t : tensors) {
            if (t.placement() != Placement.DEVICE) {
                throw new IllegalArgumentException(op + ": the device communicator moves device tensors, got " + t);
            }
        }
    }

    private static void requireSameDType(DeviceCall call, Tensor send, Tensor recv) {
        if (send.dtype() != recv.dtype()) {
            throw new IllegalArgumentException(call + ": send " + send + " and recv " + recv + " must share one dtype");
        }
    }

    private static void requireFloat(DeviceCall call, Tensor t) {
        if (!t.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException(call + ": the device communicator sums f32, bf16 and f16 tensors, got " + t);
        }
    }

    private void count(long bytesSent, long bytesReceived) {
        sent += bytesSent;
        received += bytesReceived;
    }

    /** Events of this rank still waited for by someone: none but the last call's once the ranks have met again. */
    int eventsOutstanding() {
        return streams.eventsOutstanding();
    }

    @Override
    public String toString() {
        return "DeviceCommunicator[rank " + rank + " of " + size() + "]";
    }
}
