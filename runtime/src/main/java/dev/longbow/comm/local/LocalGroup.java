package dev.longbow.comm.local;

import dev.longbow.comm.CollectiveMismatchException;
import dev.longbow.comm.GroupAbortedException;
import dev.longbow.comm.Meetings;
import dev.longbow.comm.CollectiveTimeout;
import dev.longbow.comm.CollectiveTimeoutException;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The state the ranks of one in-process group share: the {@link Meetings} of its collectives
 * (every rank publishes its call and buffers, and gets everyone's once all have arrived; calls
 * compared, a deadline, ranks that left) and one FIFO channel per ordered pair of ranks for
 * point-to-point transfers, which run on the transfer executor while the ranks compute. A failure
 * anywhere aborts the group: blocked ranks wake with a {@link GroupAbortedException}, every later
 * call fails at once, and sub-groups made by {@code split} are aborted with it.
 *
 * <p>A rank whose thread has ended without closing its endpoint fails the group too, as soon as
 * another rank waits for it ({@link Meetings#own}): so rank code run on threads a program starts
 * itself (not through a launcher, which aborts the group when a rank throws) stops its peers when
 * it throws, instead of leaving them waiting for the timeout.
 */
final class LocalGroup {
    final int size;
    final ExecutorService transfers;
    final Duration timeout;
    private final LocalGroup parent;
    private final AtomicInteger open;
    private final Map<Long, Channel> channels = new ConcurrentHashMap<>();
    private final List<LocalGroup> children = new CopyOnWriteArrayList<>();
    private final Meetings<Call> meetings;

    /** A group made by {@code parent}'s split, or with {@code parent == null} a new world that owns {@code transfers}. */
    LocalGroup(int size, ExecutorService transfers, Duration timeout, LocalGroup parent) {
        this.size = size;
        this.transfers = transfers;
        this.timeout = timeout;
        this.parent = parent;
        this.open = new AtomicInteger(size);
        this.meetings = new Meetings<>("a group of " + size + " ranks", size, timeout, this::abort);
    }

    /**
     * Publishes rank {@code rank}'s {@code call} and {@code payload} and returns every rank's, in
     * rank order, once all have arrived with the same call.
     */
    Object[] meet(int rank, Call call, Object payload) {
        return meetings.meet(rank, call, payload).payloads().toArray();
    }

    /** Records that the calling thread acts for rank {@code rank}. */
    void own(int rank) {
        meetings.own(rank);
    }

    /** Why rank {@code rank} will never come (its thread ended without closing its endpoint), or null. */
    String ended(int rank) {
        return meetings.ended(rank);
    }

    /** Wakes every blocked rank with {@code cause}; later calls fail at once. The first cause wins. */
    void abort(RuntimeException cause) {
        if (meetings.abort(cause)) {
            channels.values().forEach(c -> c.fail(cause));
            children.forEach(child -> child.abort(cause));
        }
    }

    void failIfAborted() {
        meetings.failIfAborted();
    }

    /** A sub-group made by a split: aborted when this group is. */
    LocalGroup split(int childSize) {
        LocalGroup child = new LocalGroup(childSize, transfers, timeout, this);
        children.add(child);
        if (meetings.aborted()) {
            child.abort(meetings.failure());
        }
        return child;
    }

    /**
     * Rank {@code rank} closed its endpoint: ranks waiting for it fail instead of waiting. The
     * last one stops the world's transfer threads or detaches a sub-group.
     */
    void release(int rank) {
        meetings.left(rank);
        channels.forEach((key, channel) -> channel.peerLeft(rank, (int) (key / size), (int) (key % size)));
        if (open.decrementAndGet() == 0) {
            if (parent == null) {
                transfers.shutdownNow();
            } else {
                parent.children.remove(this);
            }
        }
    }

    /** Posts one half of a transfer; when both halves are there, the copy is handed to the executor. */
    CompletableFuture<Void> post(int from, int to, MemorySegment bytes, String dtype, boolean isSend) {
        failIfAborted();
        return channels.computeIfAbsent((long) from * size + to, k -> new Channel())
                .post(from, to, bytes, dtype, isSend, transfers);
    }

    /** Why a transfer of rank {@code rank} did not complete in time, as a failure of the whole group. */
    RuntimeException transferTimedOut(int rank, String what) {
        String last = meetings.lastCalls();
        RuntimeException e = new CollectiveTimeoutException("sendRecv on rank " + rank + " of a group of " + size + ": " + what
                + " did not complete within " + CollectiveTimeout.format(timeout) + " (no matching call on the peer; last "
                + "collective of each rank: " + last + "); raise " + CollectiveTimeout.VARIABLE + " if a rank legitimately needs longer");
        abort(e);
        return e;
    }

    /** The transfers from one rank to another, matched first in, first out as NCCL orders them. */
    private static final class Channel {
        private final ArrayDeque<Half> sends = new ArrayDeque<>();
        private final ArrayDeque<Half> recvs = new ArrayDeque<>();

        private record Half(MemorySegment bytes, String dtype, CompletableFuture<Void> done) {
        }

        synchronized CompletableFuture<Void> post(int from, int to, MemorySegment bytes, String dtype, boolean isSend,
                                                  ExecutorService transfers) {
            Half mine = new Half(bytes, dtype, new CompletableFuture<>());
            Half peer = (isSend ? recvs : sends).poll();
            if (peer == null) {
                (isSend ? sends : recvs).add(mine);
                return mine.done;
            }
            Half send = isSend ? mine : peer;
            Half recv = isSend ? peer : mine;
            if (send.bytes.byteSize() != recv.bytes.byteSize() || !send.dtype.equals(recv.dtype)) {
                var e = new IllegalArgumentException("sendRecv from rank " + from + " to rank " + to + ": "
                        + send.bytes.byteSize() + " bytes sent but the receiver posted " + recv.bytes.byteSize() + " bytes"
                        + (send.dtype.equals(recv.dtype) ? "" : " (" + send.dtype + " sent, " + recv.dtype + " expected)"));
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

        /** Rank {@code gone} closed its endpoint: the halves only it could have matched fail. */
        synchronized void peerLeft(int gone, int from, int to) {
            if (from == gone && to != gone) {
                fail(recvs, "rank " + to + " posted a receive from rank " + gone + ", which closed its communicator without sending");
            }
            if (to == gone && from != gone) {
                fail(sends, "rank " + from + " posted a send to rank " + gone + ", which closed its communicator without receiving");
            }
        }

        private static void fail(ArrayDeque<Half> halves, String why) {
            halves.forEach(h -> h.done.completeExceptionally(new CollectiveMismatchException("sendRecv: " + why)));
            halves.clear();
        }

        synchronized void fail(RuntimeException cause) {
            sends.forEach(h -> h.done.completeExceptionally(cause));
            recvs.forEach(h -> h.done.completeExceptionally(cause));
            sends.clear();
            recvs.clear();
        }
    }
}
