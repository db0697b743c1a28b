package dev.longbow.comm.local;

import dev.longbow.comm.GroupAbortedException;
import dev.longbow.backend.Pending;
import dev.longbow.comm.CollectiveTimeout;
import dev.longbow.comm.Communicator;
import dev.longbow.comm.Meetings;
import dev.longbow.comm.Traffic;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToLongFunction;
import java.util.stream.IntStream;

/**
 * A rank's endpoint of an in-process group: ranks are threads of one JVM and tensors are host
 * memory. Collectives return when this rank's part is done (each rank copies what it receives
 * from the others' buffers); {@link #sendRecv} returns at once and the copy runs on a transfer
 * thread while the caller computes.
 *
 * <p>Arguments are checked after the ranks have met, so a mismatch across ranks (kinds, shapes,
 * dtypes, a skipped call) makes every rank throw the same message instead of leaving some
 * waiting; every wait ends after the group's timeout ({@link CollectiveTimeout}) with a message
 * naming the call and the ranks that did not arrive.
 *
 * <p>Ranks may run on threads a program starts itself: the thread that calls an endpoint acts for
 * its rank, and when it ends without closing the endpoint (its code threw) every rank waiting for
 * it fails with a {@link GroupAbortedException} naming it, at once rather than after the timeout.
 * Closing an endpoint closes the endpoints split from it, so a rank that leaves a group leaves its
 * sub-groups too.
 */
public final class LocalCommunicator implements Communicator {
    private final LocalGroup group;
    private final int rank;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong received = new AtomicLong();
    /** Collectives this rank has called on its group: the ranks compare it when they meet. */
    private long collectives;
    /** The endpoints this one split off: closed with it. */
    private final List<LocalCommunicator> splits = new java.util.concurrent.CopyOnWriteArrayList<>();

    private LocalCommunicator(LocalGroup group, int rank) {
        this.group = group;
        this.rank = rank;
    }

    /** A new group of {@code size} ranks whose collectives wait {@link CollectiveTimeout#from} the environment. */
    public static List<LocalCommunicator> create(int size) {
        return create(size, CollectiveTimeout.from(System.getenv()));
    }

    /**
     * A new group of {@code size} ranks, endpoint i for rank i, whose collectives and transfers
     * fail the group after waiting {@code timeout} for a rank. The transfer threads stop when the
     * last endpoint is closed.
     */
    public static List<LocalCommunicator> create(int size, Duration timeout) {
        if (size < 1) {
            throw new IllegalArgumentException("group size " + size + " must be at least 1");
        }
        CollectiveTimeout.require(timeout, "the in-process communicator");
        AtomicInteger threadIds = new AtomicInteger();
        ExecutorService transfers = Executors.newCachedThreadPool(task -> {
            Thread t = new Thread(task, "longbow-local-transfer-" + threadIds.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        LocalGroup group = new LocalGroup(size, transfers, timeout, null);
        return IntStream.range(0, size).mapToObj(r -> new LocalCommunicator(group, r)).toList();
    }

    /** Wakes every rank blocked in this group (and its sub-groups) with {@code cause}. */
    public void abort(RuntimeException cause) {
        group.abort(cause);
    }

    @Override
    public int rank() {
        group.own(rank);
        return rank;
    }

    @Override
    public int size() {
        group.own(rank);
        return group.size;
    }

    @Override
    public Pending sendRecv(Tensor send, int to, Tensor recv, int from) {
        checkPeer("to", to);
        checkPeer("from", from);
        requireHost("sendRecv", send);
        requireHost("sendRecv", recv);
        long deadline = System.nanoTime() + group.timeout.toNanos();
        group.own(rank);
        CompletableFuture<Void> out = group.post(rank, to, send.data(), send.dtype().toString(), true);
        CompletableFuture<Void> in = group.post(from, rank, recv.data(), recv.dtype().toString(), false);
        count(to == rank ? 0 : send.byteSize(), from == rank ? 0 : recv.byteSize());
        return () -> {
            join(out, deadline, to, "the send of " + send + " to rank " + to);
            join(in, deadline, from, "the receive into " + recv + " from rank " + from);
        };
    }

    @Override
    public void allToAll(Tensor send, Tensor recv) {
        Call call = call("allToAll", send, recv);
        Object[] all = group.meet(rank, call, new Tensor[] {send, recv});
        long total = requireUniform("allToAll", all, b -> b[0].byteSize(), b -> b[1].byteSize(), 1);
        if (send.shape().rank() == 0 || send.dim(0) % size() != 0) {
            throw new IllegalArgumentException("allToAll: leading dimension of " + send + " not divisible by group size " + size());
        }
        long block = total / size();
        for (int i = 0; i < size(); i++) {
            Tensor from = ((Tensor[]) all[i])[0];
            MemorySegment.copy(from.data(), rank * block, recv.data(), i * block, block);
        }
        count((size() - 1) * block, (size() - 1) * block);
        group.meet(rank, call, null);
    }

    @Override
    public void allGather(Tensor send, Tensor recv) {
        Call call = call("allGather", send, recv);
        Object[] all = group.meet(rank, call, new Tensor[] {send, recv});
        long block = requireUniform("allGather", all, b -> b[0].byteSize(), b -> b[1].byteSize(), size());
        for (int i = 0; i < size(); i++) {
            MemorySegment.copy(((Tensor[]) all[i])[0].data(), 0, recv.data(), i * block, block);
        }
        count((size() - 1) * block, (size() - 1) * block);
        group.meet(rank, call, null);
    }

    @Override
    public void reduceScatter(Tensor send, Tensor recv) {
        Call call = call("reduceScatter", send, recv);
        Object[] all = group.meet(rank, call, new Tensor[] {send, recv});
        long block = requireUniform("reduceScatter", all, b -> b[1].byteSize(), b -> b[0].byteSize(), size());
        List<Tensor> blocks = new ArrayList<>();
        for (Object o : all) {
            MemorySegment mine = ((Tensor[]) o)[0].data().asSlice(rank * block, block);
            blocks.add(new Tensor(mine, recv.dtype(), recv.shape(), Placement.HOST));
        }
        Sums.sumInto(blocks, recv);
        count((size() - 1) * block, (size() - 1) * block);
        group.meet(rank, call, null);
    }

    @Override
    public void allReduce(Tensor inout) {
        Call call = call("allReduce", inout);
        Object[] all = group.meet(rank, call, new Tensor[] {inout, inout});
        long bytes = requireUniform("allReduce", all, b -> b[0].byteSize(), b -> b[1].byteSize(), 1);
        try (Arena scratch = Arena.ofConfined()) {
            Tensor sum = new Tensor(scratch.allocate(bytes, 64), inout.dtype(), inout.shape(), Placement.HOST);
            List<Tensor> parts = new ArrayList<>();
            for (Object o : all) {
                parts.add(((Tensor[]) o)[0]);
            }
            Sums.sumInto(parts, sum);
            group.meet(rank, call, null);
            MemorySegment.copy(sum.data(), 0, inout.data(), 0, bytes);
        }
        long ring = 2 * (size() - 1) * bytes / size();
        count(ring, ring);
    }

    @Override
    public void barrier() {
        group.meet(rank, call("barrier"), null);
    }

    @Override
    public Communicator split(int color, int key) {
        if (color < 0) {
            throw new IllegalArgumentException("split color " + color + " must be >= 0");
        }
        Call call = call("split");
        Object[] all = group.meet(rank, call, new int[] {color, key});
        List<Integer> members = IntStream.range(0, size()).filter(r -> ((int[]) all[r])[0] == color).boxed()
                .sorted(Comparator.comparingInt((Integer r) -> ((int[]) all[r])[1]).thenComparingInt(r -> r)).toList();
        int newRank = members.indexOf(rank);
        group.meet(rank, call, null);
        Object[] made = group.meet(rank, call, newRank == 0 ? group.split(members.size()) : null);
        LocalGroup mine = (LocalGroup) made[members.getFirst()];
        group.meet(rank, call, null);
        LocalCommunicator split = new LocalCommunicator(mine, newRank);
        splits.add(split);
        return split;
    }

    @Override
    public Traffic traffic() {
        return new Traffic(sent.get(), received.get());
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            splits.forEach(LocalCommunicator::close);
            group.release(rank);
        }
    }

    /** This rank's next collective as the group compares it: kind, and every tensor's dtype and bytes. */
    private Call call(String kind, Tensor... tensors) {
        group.own(rank);
        StringBuilder signature = new StringBuilder();
        StringBuilder detail = new StringBuilder();
        for (Tensor t : tensors) {
            signature.append(t.dtype()).append(':').append(t.byteSize()).append(' ');
            detail.append(detail.isEmpty() ? "" : ", ").append(t.dtype()).append(t.shape());
        }
        return new Call(++collectives, kind, signature.toString(), detail.toString());
    }

    private void count(long bytesSent, long bytesReceived) {
        sent.addAndGet(bytesSent);
        received.addAndGet(bytesReceived);
    }
    private void checkPeer(String role, int peer) {
        if (peer < 0 || peer >= size()) {
            throw new IllegalArgumentException("sendRecv " + role + " rank " + peer + " outside group of " + size());
        }
    }

    private static void requireHost(String op, Tensor t) {
        if (t.placement() != Placement.HOST) {
            throw new IllegalArgumentException(op + ": the in-process communicator moves host tensors, got " + t);
        }
    }

    /**
     * Checks every rank's buffers: host memory, one dtype, {@code big == ratio * small} bytes,
     * the same sizes everywhere. Returns {@code small}'s byte size.
     */
    private long requireUniform(String op, Object[] all, ToLongFunction<Tensor[]> small,
                                ToLongFunction<Tensor[]> big, int ratio) {
        Tensor[] first = (Tensor[]) all[0];
        for (int r = 0; r < all.length; r++) {
            Tensor[] b = (Tensor[]) all[r];
            for (Tensor t : b) {
                requireHost(op, t);
                if (t.dtype() != first[0].dtype()) {
                    throw new IllegalArgumentException(op + ": rank " + r + " passed " + t + " but rank 0 passed " + first[0]
                            + " (all buffers must share one dtype)");
                }
            }
            if (big.applyAsLong(b) != ratio * small.applyAsLong(b)) {
                throw new IllegalArgumentException(op + ": rank " + r + " passed " + b[0] + " and " + b[1]
                        + "; the larger must be exactly " + ratio + " times the smaller");
            }
            if (small.applyAsLong(b) != small.applyAsLong(first)) {
                throw new IllegalArgumentException(op + ": rank " + r + " passed " + b[0] + " but rank 0 passed "
                        + first[0] + " (every rank must pass the same sizes)");
            }
        }
        return small.applyAsLong(first);
    }

    /**
     * Waits for one half of a transfer with {@code peer} until {@code deadline}; past it, or once
     * the peer's thread has ended without closing its endpoint, the whole group fails, naming the transfer.
     */
    private void join(CompletableFuture<Void> f, long deadline, int peer, String what) {
        try {
            while (true) {
                long remaining = deadline - System.nanoTime();
                try {
                    f.get(Math.max(0, Math.min(remaining, TimeUnit.MILLISECONDS.toNanos(Meetings.OWNER_POLL_MILLIS))),
                            TimeUnit.NANOSECONDS);
                    return;
                } catch (TimeoutException e) {
                    String why = group.ended(peer);
                    if (why != null) {
                        GroupAbortedException failure = new GroupAbortedException("sendRecv on rank " + rank + ": " + what
                                + " cannot complete: " + why, null);
                        group.abort(failure);
                        throw failure;
                    }
                    if (remaining <= 0) {
                        throw group.transferTimedOut(rank, what);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GroupAbortedException("interrupted while waiting for a transfer", e);
        } catch (ExecutionException | CompletionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IllegalArgumentException iae) {
                throw new IllegalArgumentException(iae.getMessage(), iae);
            }
            throw new GroupAbortedException(cause.getMessage(), cause);
        }
    }
}
