package dev.longbow.comm.local;

import dev.longbow.comm.CollectiveMismatchException;
import dev.longbow.comm.CollectiveTimeout;
import dev.longbow.comm.CollectiveTimeoutException;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

/**
 * The state the ranks of one in-process group share: meetings for collectives (every rank
 * publishes its call and buffers, and gets everyone's once all have arrived) and one FIFO
 * channel per ordered pair of ranks for point-to-point transfers, which run on the transfer
 * executor while the ranks compute.
 *
 * <p>Nothing waits forever. Ranks that meet with different calls (kind, sizes, dtype, or a
 * different count of calls so far) all fail naming both sides; a rank that waits longer than the
 * group's timeout, or for a rank that has closed its endpoint, fails the group naming the ranks
 * that did not arrive. A failure anywhere aborts the group: blocked ranks wake with a
 * {@link GroupAbortedException} and every later call fails at once. Sub-groups made by
 * {@code split} are aborted with it.
 */
final class LocalGroup {
    final int size;
    final ExecutorService transfers;
    final Duration timeout;
    private final LocalGroup parent;
    private final AtomicInteger open;
    private final Map<Long, Channel> channels = new ConcurrentHashMap<>();
    private final List<LocalGroup> children = new CopyOnWriteArrayList<>();

    // The meeting in progress, guarded by this.
    private final Call[] calls;
    private final Object[] payloads;
    private final boolean[] present;
    /** The last call each rank entered, for messages about the ranks that did not come. */
    private final Call[] lastCall;
    private final boolean[] left;
    private int arrived;
    private long generation;
    private Meeting completed;
    private volatile RuntimeException failure;

    /** What every rank brought to one meeting, in rank order. */
    record Meeting(Call[] calls, Object[] payloads) {
    }

    /** A group made by {@code parent}'s split, or with {@code parent == null} a new world that owns {@code transfers}. */
    LocalGroup(int size, ExecutorService transfers, Duration timeout, LocalGroup parent) {
        this.size = size;
        this.transfers = transfers;
        this.timeout = timeout;
        this.parent = parent;
        this.open = new AtomicInteger(size);
        this.calls = new Call[size];
        this.payloads = new Object[size];
        this.present = new boolean[size];
        this.lastCall = new Call[size];
        this.left = new boolean[size];
    }

    /**
     * Publishes rank {@code rank}'s {@code call} and {@code payload} and returns every rank's
     * once all have arrived with the same call. Fails every rank when the calls differ, when the
     * timeout passes first, or when a rank that has not come closed its endpoint.
     */
    Meeting meet(int rank, Call call, Object payload) {
        Meeting m = arrive(rank, call, payload);
        Call first = m.calls[0];
        for (int r = 1; r < size; r++) {
            if (!m.calls[r].sameAs(first)) {
                CollectiveMismatchException e = new CollectiveMismatchException(mismatch(0, first, r, m.calls[r]));
                abort(e);
                throw e;
            }
        }
        return m;
    }

    private synchronized Meeting arrive(int rank, Call call, Object payload) {
        failIfAborted();
        long arrival = generation;
        calls[rank] = call;
        payloads[rank] = payload;
        present[rank] = true;
        lastCall[rank] = call;
        if (++arrived == size) {
            completed = new Meeting(calls.clone(), payloads.clone());
            Arrays.fill(present, false);
            Arrays.fill(payloads, null);
            arrived = 0;
            generation++;
            notifyAll();
            return completed;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (arrival == generation && failure == null) {
            int gone = IntStream.range(0, size).filter(r -> left[r] && !present[r]).findFirst().orElse(-1);
            if (gone >= 0) {
                RuntimeException e = new CollectiveMismatchException(call + " cannot complete on a group of " + size
                        + " ranks: rank " + gone + " closed its communicator without calling it (its last call: "
                        + describe(lastCall[gone]) + "); every rank must make the same collective calls");
                abort(e);
                throw e;
            }
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0) {
                RuntimeException e = new CollectiveTimeoutException(timedOut(call));
                abort(e);
                throw e;
            }
            try {
                wait(Math.max(1, remaining / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                abort(new GroupAbortedException("a rank was interrupted while waiting for the group", e));
            }
        }
        if (arrival == generation) {
            failIfAborted();
        }
        return completed;
    }

    private String timedOut(Call call) {
        List<Integer> came = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (int r = 0; r < size; r++) {
            if (present[r]) {
                came.add(r);
            } else {
                missing.add("rank " + r + " (last call: " + describe(lastCall[r]) + ")");
            }
        }
        return call + " timed out after " + CollectiveTimeout.format(timeout) + " on a group of " + size + " ranks: ranks "
                + came + " arrived, " + String.join(", ", missing) + " did not (stuck, much slower, or skipped the call); "
                + "raise " + CollectiveTimeout.VARIABLE + " if a rank legitimately needs longer";
    }

    private String mismatch(int a, Call callA, int b, Call callB) {
        String why = callA.ordinal() == callB.ordinal() ? ""
                : "; rank " + b + " has made " + Math.abs(callB.ordinal() - callA.ordinal()) + " call(s) "
                        + (callB.ordinal() > callA.ordinal() ? "more" : "fewer") + " than rank " + a + " on this group";
        return "ranks called different collectives on a group of " + size + " ranks: rank " + a + " called " + callA
                + " but rank " + b + " called " + callB + why + "; every rank must call the same collectives in the same order "
                + "with the same sizes and dtype";
    }

    private static String describe(Call call) {
        return call == null ? "none yet" : call.toString();
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
        channels.values().forEach(c -> c.fail(cause));
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
        LocalGroup child = new LocalGroup(childSize, transfers, timeout, this);
        children.add(child);
        if (failure != null) {
            child.abort(failure);
        }
        return child;
    }

    /**
     * Rank {@code rank} closed its endpoint: ranks waiting for it fail instead of waiting. The
     * last one stops the world's transfer threads or detaches a sub-group.
     */
    void release(int rank) {
        synchronized (this) {
            left[rank] = true;
            notifyAll();
        }
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
        String last;
        synchronized (this) {
            last = Arrays.toString(Arrays.stream(lastCall).map(LocalGroup::describe).toArray());
        }
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
