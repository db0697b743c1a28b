package dev.longbow.kernels.comm;

import dev.longbow.comm.CollectiveMismatchException;
import dev.longbow.comm.CollectiveTimeout;
import dev.longbow.comm.CollectiveTimeoutException;
import dev.longbow.comm.local.GroupAbortedException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * What the ranks of one device group share on the host: meetings, where every rank brings its
 * call and what it publishes (buffer addresses, events) and gets everyone's back, and the
 * point-to-point channels of {@code sendRecv}. Only host state lives here; GPU work is ordered
 * by the events the ranks exchange.
 *
 * <p>Nothing waits forever. Ranks that meet with different calls all fail naming both sides; a
 * rank that waits longer than {@link #timeout} fails the group naming the ranks that did not
 * come and their last calls; a rank that closed its endpoint without coming fails the others at
 * once. A failure anywhere aborts the group: ranks blocked here wake with a
 * {@link GroupAbortedException}, later calls fail at once, and sub-groups made by {@code split}
 * are aborted with it.
 */
final class DeviceGroup {
    final int size;
    final Duration timeout;
    final PointToPoint transfers;
    private final List<DeviceGroup> children = new CopyOnWriteArrayList<>();

    // The meeting in progress, guarded by this.
    private final DeviceCall[] calls;
    private final Object[] payloads;
    private final boolean[] present;
    /** The last call each rank came to, for messages about the ranks that did not come. */
    private final DeviceCall[] lastCall;
    private final boolean[] left;
    private int arrived;
    private long generation;
    private Meeting completed;
    private volatile RuntimeException failure;

    /** What every rank brought to one meeting, in rank order. */
    record Meeting(DeviceCall[] calls, Object[] payloads) {
        <T> T of(int rank, Class<T> type) {
            return type.cast(payloads[rank]);
        }
    }

    DeviceGroup(int size, Duration timeout) {
        if (size < 1) {
            throw new IllegalArgumentException("group size " + size + " must be at least 1");
        }
        this.size = size;
        this.timeout = CollectiveTimeout.require(timeout, "device group of " + size + " ranks");
        this.transfers = new PointToPoint(this);
        this.calls = new DeviceCall[size];
        this.payloads = new Object[size];
        this.present = new boolean[size];
        this.lastCall = new DeviceCall[size];
        this.left = new boolean[size];
    }

    /**
     * Publishes rank {@code rank}'s {@code call} and {@code payload}; returns every rank's once all
     * have come with the same call. Fails every rank when the calls differ, when the timeout passes
     * first, or when a rank that has not come closed its endpoint.
     */
    Meeting meet(int rank, DeviceCall call, Object payload) {
        Meeting m = arrive(rank, call, payload);
        for (int r = 1; r < size; r++) {
            if (!m.calls[r].sameAs(m.calls[0])) {
                CollectiveMismatchException e = new CollectiveMismatchException(mismatch(m.calls[0], r, m.calls[r]));
                abort(e);
                throw e;
            }
        }
        return m;
    }

    private synchronized Meeting arrive(int rank, DeviceCall call, Object payload) {
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
            for (int r = 0; r < size; r++) {
                if (left[r] && !present[r]) {
                    RuntimeException e = new CollectiveMismatchException(call + " cannot complete on a device group of " + size
                            + " ranks: rank " + r + " closed its communicator without calling it (its last call: "
                            + describe(lastCall[r]) + "); every rank must make the same collective calls");
                    abort(e);
                    throw e;
                }
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
                abort(new GroupAbortedException("a rank was interrupted while waiting for its device group", e));
            }
        }
        if (arrival == generation) {
            failIfAborted();
        }
        return completed;
    }

    private String timedOut(DeviceCall call) {
        List<Integer> came = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (int r = 0; r < size; r++) {
            if (present[r]) {
                came.add(r);
            } else {
                missing.add("rank " + r + " (last call: " + describe(lastCall[r]) + ")");
            }
        }
        return call + " timed out after " + CollectiveTimeout.format(timeout) + " on a device group of " + size + " ranks: ranks "
                + came + " arrived, " + String.join(", ", missing) + " did not (stuck, much slower, or skipped the call); "
                + "raise " + CollectiveTimeout.VARIABLE + " if a rank legitimately needs longer";
    }

    private String mismatch(DeviceCall first, int r, DeviceCall other) {
        String why = first.ordinal() == other.ordinal() ? ""
                : "; rank " + r + " has made " + Math.abs(other.ordinal() - first.ordinal()) + " collective(s) "
                        + (other.ordinal() > first.ordinal() ? "more" : "fewer") + " than rank 0 on this group";
        return "ranks called different collectives on a device group of " + size + " ranks: rank 0 called " + first + " but rank "
                + r + " called " + other + why + "; every rank must call the same collectives in the same order with the same"
                + " sizes and dtype";
    }

    /** The last collective rank {@code rank} came to, for messages. */
    synchronized String lastCallOf(int rank) {
        return describe(lastCall[rank]);
    }

    private static String describe(DeviceCall call) {
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
        transfers.fail(cause);
        children.forEach(child -> child.abort(cause));
    }

    boolean aborted() {
        return failure != null;
    }

    void failIfAborted() {
        RuntimeException f = failure;
        if (f != null) {
            throw f instanceof GroupAbortedException g ? new GroupAbortedException(g.getMessage(), g) : new GroupAbortedException(f);
        }
    }

    /** A sub-group made by a split: aborted when this group is. */
    DeviceGroup split(int childSize) {
        DeviceGroup child = new DeviceGroup(childSize, timeout);
        children.add(child);
        if (failure != null) {
            child.abort(failure);
        }
        return child;
    }

    /** Rank {@code rank} closed its endpoint: ranks waiting for it fail instead of waiting. */
    void release(int rank) {
        synchronized (this) {
            left[rank] = true;
            notifyAll();
        }
        transfers.peerLeft(rank);
    }
}
