package dev.longbow.comm.local;

import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.lang.foreign.MemorySegment;

/**
 * The state the ranks of one in-process group share: a rendezvous for collectives (every rank
 * publishes its buffers, reads the others', then waits until all have read) and one FIFO
 * channel per ordered pair of ranks for point-to-point transfers, which run on the transfer
 * executor while the ranks compute.
 *
 * <p>A failure anywhere aborts the group: blocked ranks wake with a {@link GroupAbortedException}
 * and every later call fails at once. Sub-groups made by {@code split} are aborted with it.
 */
final class LocalGroup {
    final int size;
    final ExecutorService transfers;
    private final LocalGroup parent;
    private final AtomicInteger open;

    private final Object[] slots;
    private final Channel[] channels;
    private final List<LocalGroup> children = new CopyOnWriteArrayList<>();
    private int arrived;
    private long generation;
    private volatile RuntimeException failure;

    /** A group made by {@code parent}'s split, or with {@code parent == null} a new world that owns {@code transfers}. */
    LocalGroup(int size, ExecutorService transfers, LocalGroup parent) {
        this.size = size;
        this.transfers = transfers;
        this.parent = parent;
        this.open = new AtomicInteger(size);
        this.slots = new Object[size];
        this.channels = new Channel[size * size];
        for (int i = 0; i < channels.length; i++) {
            channels[i] = new Channel();
        }
    }

    /**
     * Publishes {@code mine} as rank {@code rank}'s contribution and returns every rank's, in rank
     * order, once all have arrived. The array stays valid until the caller's next {@link #await}.
     */
    Object[] exchange(int rank, Object mine) {
        slots[rank] = mine;
        await();
        return slots;
    }

    /** Blocks until every rank of the group has arrived, or the group is aborted. */
    synchronized void await() {
        failIfAborted();
        long arrival = generation;
        if (++arrived == size) {
            arrived = 0;
            generation++;
            notifyAll();
            return;
        }
        while (arrival == generation && failure == null) {
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                abort(new GroupAbortedException("a rank was interrupted while waiting for the group", e));
            }
        }
        if (arrival == generation) {
            failIfAborted();
        }
    }

    /** Wakes every blocked rank with {@code cause}; later calls fail at once. The first cause wins. */
    void abort(RuntimeException cause) {
        synchronized (this) {
            if (failure != null) {
                return;
            }
            failure = cause;
            notifyAll();
        }
        for (Channel c : channels) {
            c.fail(cause);
        }
        children.forEach(child -> child.abort(cause));
    }

    void failIfAborted() {
        RuntimeException f = failure;
        if (f != null) {
            throw f instanceof GroupAbortedException g ? new GroupAbortedException(g.getMessage(), g) : new GroupAbortedException(f);
        }
    }

    /** A sub-group made by a split: aborted when this group is. */
    LocalGroup split(int childSize) {
        LocalGroup child = new LocalGroup(childSize, transfers, this);
        children.add(child);
        if (failure != null) {
            child.abort(failure);
        }
        return child;
    }

    /** One endpoint closed; the last one stops the world's transfer threads or detaches a sub-group. */
    void release() {
        if (open.decrementAndGet() == 0) {
            if (parent == null) {
                transfers.shutdownNow();
            } else {
                parent.children.remove(this);
            }
        }
    }

    /** Posts one half of a transfer; when both halves are there, the copy is handed to the executor. */
    CompletableFuture<Void> post(int from, int to, MemorySegment bytes, boolean isSend) {
        failIfAborted();
        return channels[from * size + to].post(from, to, bytes, isSend, transfers);
    }

    /** The transfers from one rank to another, matched first in, first out as NCCL orders them. */
    private static final class Channel {
        private final ArrayDeque<Half> sends = new ArrayDeque<>();
        private final ArrayDeque<Half> recvs = new ArrayDeque<>();

        private record Half(MemorySegment bytes, CompletableFuture<Void> done) {
        }

        synchronized CompletableFuture<Void> post(int from, int to, MemorySegment bytes, boolean isSend, ExecutorService transfers) {
            Half mine = new Half(bytes, new CompletableFuture<>());
            Half peer = (isSend ? recvs : sends).poll();
            if (peer == null) {
                (isSend ? sends : recvs).add(mine);
                return mine.done;
            }
            Half send = isSend ? mine : peer;
            Half recv = isSend ? peer : mine;
            if (send.bytes.byteSize() != recv.bytes.byteSize()) {
                var e = new IllegalArgumentException("sendRecv from rank " + from + " to rank " + to + ": "
                        + send.bytes.byteSize() + " bytes sent but the receiver posted " + recv.bytes.byteSize());
                send.done.completeExceptionally(e);
                recv.done.completeExceptionally(e);
                return mine.done;
            }
            transfers.execute(() -> {
                MemorySegment.copy(send.bytes, 0, recv.bytes, 0, send.bytes.byteSize());
                send.done.complete(null);
                recv.done.complete(null);
            });
            return mine.done;
        }

        synchronized void fail(RuntimeException cause) {
            sends.forEach(h -> h.done.completeExceptionally(cause));
            recvs.forEach(h -> h.done.completeExceptionally(cause));
            sends.clear();
            recvs.clear();
        }
    }
}
