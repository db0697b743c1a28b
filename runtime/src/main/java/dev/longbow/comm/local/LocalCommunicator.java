package dev.longbow.comm.local;

import dev.longbow.backend.Pending;
import dev.longbow.comm.Communicator;
import dev.longbow.comm.Traffic;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
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
 * <p>Arguments are checked after the ranks have met, so a mismatch across ranks (shapes, dtypes)
 * makes every rank throw the same message instead of leaving some waiting.
 */
public final class LocalCommunicator implements Communicator {
    private final LocalGroup group;
    private final int rank;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong received = new AtomicLong();

    private LocalCommunicator(LocalGroup group, int rank) {
        this.group = group;
        this.rank = rank;
    }

    /**
     * A new group of {@code size} ranks, endpoint i for rank i. The transfer threads stop when the
     * last endpoint is closed.
     */
    public static List<LocalCommunicator> create(int size) {
        if (size < 1) {
            throw new IllegalArgumentException("group size " + size + " must be at least 1");
        }
        AtomicInteger threadIds = new AtomicInteger();
        ExecutorService transfers = Executors.newCachedThreadPool(task -> {
            Thread t = new Thread(task, "longbow-local-transfer-" + threadIds.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        LocalGroup group = new LocalGroup(size, transfers, null);
        return IntStream.range(0, size).mapToObj(r -> new LocalCommunicator(group, r)).toList();
    }

    /** Wakes every rank blocked in this group (and its sub-groups) with {@code cause}. */
    public void abort(RuntimeException cause) {
        group.abort(cause);
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
        checkPeer("to", to);
        checkPeer("from", from);
        requireHost("sendRecv", send);
        requireHost("sendRecv", recv);
        CompletableFuture<Void> out = group.post(rank, to, send.data(), true);
        CompletableFuture<Void> in = group.post(from, rank, recv.data(), false);
        count(to == rank ? 0 : send.byteSize(), from == rank ? 0 : recv.byteSize());
        return () -> {
            join(out);
            join(in);
        };
    }

    @Override
    public void allToAll(Tensor send, Tensor recv) {
        Object[] all = group.exchange(rank, new Tensor[] {send, recv});
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
        group.await();
    }

    @Override
    public void allGather(Tensor send, Tensor recv) {
        Object[] all = group.exchange(rank, new Tensor[] {send, recv});
        long block = requireUniform("allGather", all, b -> b[0].byteSize(), b -> b[1].byteSize(), size());
        for (int i = 0; i < size(); i++) {
            MemorySegment.copy(((Tensor[]) all[i])[0].data(), 0, recv.data(), i * block, block);
        }
        count((size() - 1) * block, (size() - 1) * block);
        group.await();
    }

    @Override
    public void reduceScatter(Tensor send, Tensor recv) {
        Object[] all = group.exchange(rank, new Tensor[] {send, recv});
        long block = requireUniform("reduceScatter", all, b -> b[1].byteSize(), b -> b[0].byteSize(), size());
        List<Tensor> blocks = new ArrayList<>();
        for (Object o : all) {
            MemorySegment mine = ((Tensor[]) o)[0].data().asSlice(rank * block, block);
            blocks.add(new Tensor(mine, recv.dtype(), recv.shape(), Placement.HOST));
        }
        Sums.sumInto(blocks, recv);
        count((size() - 1) * block, (size() - 1) * block);
        group.await();
    }

    @Override
    public void allReduce(Tensor inout) {
        Object[] all = group.exchange(rank, new Tensor[] {inout, inout});
        long bytes = requireUniform("allReduce", all, b -> b[0].byteSize(), b -> b[1].byteSize(), 1);
        try (Arena scratch = Arena.ofConfined()) {
            Tensor sum = new Tensor(scratch.allocate(bytes, 64), inout.dtype(), inout.shape(), Placement.HOST);
            List<Tensor> parts = new ArrayList<>();
            for (Object o : all) {
                parts.add(((Tensor[]) o)[0]);
            }
            Sums.sumInto(parts, sum);
            group.await();
            MemorySegment.copy(sum.data(), 0, inout.data(), 0, bytes);
        }
        long ring = 2 * (size() - 1) * bytes / size();
        count(ring, ring);
    }

    @Override
    public void barrier() {
        group.await();
    }

    @Override
    public Communicator split(int color, int key) {
        if (color < 0) {
            throw new IllegalArgumentException("split color " + color + " must be >= 0");
        }
        Object[] all = group.exchange(rank, new int[] {color, key});
        List<Integer> members = IntStream.range(0, size()).filter(r -> ((int[]) all[r])[0] == color).boxed()
                .sorted(Comparator.comparingInt((Integer r) -> ((int[]) all[r])[1]).thenComparingInt(r -> r)).toList();
        int newRank = members.indexOf(rank);
        group.await();
        Object[] made = group.exchange(rank, newRank == 0 ? group.split(members.size()) : null);
        LocalGroup mine = (LocalGroup) made[members.getFirst()];
        group.await();
        return new LocalCommunicator(mine, newRank);
    }

    @Override
    public Traffic traffic() {
        return new Traffic(sent.get(), received.get());
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            group.release();
        }
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

    private static void join(CompletableFuture<Void> f) {
        try {
            f.get();
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
