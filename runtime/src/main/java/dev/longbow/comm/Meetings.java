package dev.longbow.comm;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Consumer;

/**
 * Where the ranks of an in-process group meet on the host, once per collective: each rank brings
 * its call (compared across ranks) and a payload (its buffers, its events) and gets every rank's
 * back once all have come. The in-process communicator and the device communicator both meet
 * here.
 *
 * <p>Nothing waits forever. Ranks that meet with different calls (kind, sizes, dtype, or a
 * different count of calls so far) all fail naming both sides; a rank that waits longer than the
 * timeout fails naming the ranks that did not come and their last calls; a rank that closed its
 * endpoint without coming fails the others at once. Each of these aborts the whole group through
 * the owner's abort, which calls {@link #abort} here: blocked ranks wake with a
 * {@link GroupAbortedException} and every later meeting fails at once.
 *
 * <p>A rank whose thread has ended without closing its endpoint fails the group as soon as
 * another rank waits for it: the thread that last acted for a rank ({@link #own}) is its owner,
 * and an owner that is no longer alive will make no more calls. So rank code run on threads a
 * program starts itself, not through a launcher, stops its peers when it throws instead of leaving
 * them waiting for the timeout.
 *
 * @param <C> what a rank's call is
 */
public final class Meetings<C extends Meetings.Call<C>> {
    /** How often a waiting rank looks whether the ranks it waits for still have a live thread. */
    public static final long OWNER_POLL_MILLIS = 50;

    /** A rank's call: the how-many-th of its calls on the group, and whether another rank's is the same. */
    public interface Call<C> {
        /**
         * How many calls this rank made on the group before this one.
         *
         * @return the call's ordinal, from 0
         */
        long ordinal();

        /**
         * Whether {@code other} (another rank's call at the same meeting) is the same collective.
         *
         * @param other the other rank's call
         * @return true when kind, sizes, dtype and ordinal agree
         */
        boolean sameAs(C other);
    }

    /** What every rank brought to one meeting, in rank order. */
    public record Meeting<C>(List<C> calls, List<Object> payloads) {
        /** Rank {@code rank}'s payload, as the type the caller knows it has. */
        public <T> T of(int rank, Class<T> type) {
            return type.cast(payloads.get(rank));
        }
    }

    private final String group;
    private final int size;
    private final Duration timeout;
    private final Consumer<RuntimeException> abortGroup;

    // The meeting in progress, guarded by this.
    private final List<C> calls;
    private final Object[] payloads;
    private final boolean[] present;
    /** The last call each rank came to, for messages about the ranks that did not come. */
    private final List<C> lastCall;
    private final boolean[] left;
    /** The thread that last acted for each rank: a dead one will never call again. */
    private final AtomicReferenceArray<Thread> owners;
    private int arrived;
    private long generation;
    private Meeting<C> completed;
    private volatile RuntimeException failure;

    /**
     * @param group      the group in messages: "a group of 4 ranks"
     * @param abortGroup the owner's abort: fails everything else the group holds, then {@link #abort}
     */
    public Meetings(String group, int size, Duration timeout, Consumer<RuntimeException> abortGroup) {
        this.group = group;
        this.size = size;
        this.timeout = CollectiveTimeout.require(timeout, group);
        this.abortGroup = abortGroup;
        this.calls = new ArrayList<>(Collections.nCopies(size, null));
        this.payloads = new Object[size];
        this.present = new boolean[size];
        this.lastCall = new ArrayList<>(Collections.nCopies(size, null));
        this.left = new boolean[size];
        this.owners = new AtomicReferenceArray<>(size);
    }

    /**
     * How long a rank waits for the others at a meeting.
     *
     * @return the timeout
     */
    public Duration timeout() {
        return timeout;
    }

    /**
     * Publishes rank {@code rank}'s {@code call} and {@code payload}; returns every rank's once all
     * have come with the same call. Fails every rank when the calls differ, when the timeout passes
     * first, or when a rank that has not come closed its endpoint.
     */
    public Meeting<C> meet(int rank, C call, Object payload) {
        Meeting<C> m = arrive(rank, call, payload);
        C first = m.calls().getFirst();
        for (int r = 1; r < size; r++) {
            if (!m.calls().get(r).sameAs(first)) {
                throw failed(new CollectiveMismatchException(mismatch(first, r, m.calls().get(r))));
            }
        }
        return m;
    }

    private synchronized Meeting<C> arrive(int rank, C call, Object payload) {
        failIfAborted();
        own(rank);
        long arrival = generation;
        calls.set(rank, call);
        payloads[rank] = payload;
        present[rank] = true;
        lastCall.set(rank, call);
        if (++arrived == size) {
            completed = new Meeting<>(List.copyOf(calls), Arrays.asList(payloads.clone()));
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
                    throw failed(new CollectiveMismatchException(call + " cannot complete on " + group + ": rank " + r
                            + " closed its communicator without calling it (its last call: " + describe(lastCall.get(r))
                            + "); every rank must make the same collective calls"));
                }
                String ended = present[r] ? null : ended(r);
                if (ended != null) {
                    throw failed(new GroupAbortedException(call + " cannot complete on " + group + ": " + ended, null));
                }
            }
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0) {
                throw failed(new CollectiveTimeoutException(timedOut(call)));
            }
            try {
                // A thread's end notifies nobody: look again at least every OWNER_POLL_MILLIS.
                wait(Math.max(1, Math.min(OWNER_POLL_MILLIS, remaining / 1_000_000)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                abortGroup.accept(new GroupAbortedException("a rank was interrupted while waiting for " + group, e));
            }
        }
        if (arrival == generation) {
            failIfAborted();
        }
        return completed;
    }

    /** Aborts the group with {@code e} (through its owner) and returns it, to be thrown. */
    private RuntimeException failed(RuntimeException e) {
        abortGroup.accept(e);
        return e;
    }

    private String timedOut(C call) {
        List<Integer> came = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (int r = 0; r < size; r++) {
            if (present[r]) {
                came.add(r);
            } else {
                missing.add("rank " + r + " (last call: " + describe(lastCall.get(r)) + ")");
            }
        }
        return call + " timed out after " + CollectiveTimeout.format(timeout) + " on " + group + ": ranks " + came + " arrived, "
                + String.join(", ", missing) + " did not (stuck, much slower, or skipped the call); raise "
                + CollectiveTimeout.VARIABLE + " if a rank legitimately needs longer";
    }

    private String mismatch(C first, int r, C other) {
        String why = first.ordinal() == other.ordinal() ? ""
                : "; rank " + r + " has made " + Math.abs(other.ordinal() - first.ordinal()) + " collective(s) "
                        + (other.ordinal() > first.ordinal() ? "more" : "fewer") + " than rank 0 on this group";
        return "ranks called different collectives on " + group + ": rank 0 called " + first + " but rank " + r + " called "
                + other + why + "; every rank must call the same collectives in the same order with the same sizes and dtype";
    }

    /** The last collective rank {@code rank} came to, for messages. */
    public synchronized String lastCallOf(int rank) {
        return describe(lastCall.get(rank));
    }

    /** Every rank's last collective, in rank order, for messages. */
    public synchronized String lastCalls() {
        return lastCall.stream().map(Meetings::describe).toList().toString();
    }

    private static String describe(Object call) {
        return call == null ? "none yet" : call.toString();
    }

    /** Wakes every blocked rank with {@code cause}; later meetings fail at once. Whether this was the first cause. */
    public boolean abort(RuntimeException cause) {
        synchronized (this) {
            if (failure != null) {
                return false;
            }
            failure = cause;
            notifyAll();
            return true;
        }
    }

    /**
     * Whether the group has been aborted.
     *
     * @return true once {@link #abort} has been called
     */
    public boolean aborted() {
        return failure != null;
    }

    /** The cause the group was aborted with, or null. */
    public RuntimeException failure() {
        return failure;
    }

    /** Throws a {@link GroupAbortedException} carrying the cause when the group has been aborted. */
    public void failIfAborted() {
        RuntimeException f = failure;
        if (f != null) {
            throw f instanceof GroupAbortedException g ? new GroupAbortedException(g.getMessage(), g) : new GroupAbortedException(f);
        }
    }

    /** Records that the calling thread acts for rank {@code rank}: when it ends, the rank will not come. */
    public void own(int rank) {
        Thread me = Thread.currentThread();
        if (owners.get(rank) != me) {
            owners.set(rank, me);
        }
    }

    /**
     * Why rank {@code rank} will never come: its owner thread ended without closing its endpoint;
     * or null while it may still come.
     */
    public String ended(int rank) {
        Thread owner = owners.get(rank);
        if (owner == null || owner.isAlive()) {
            return null;
        }
        synchronized (this) {
            if (left[rank]) {
                return null;
            }
            return "rank " + rank + "'s thread '" + owner.getName() + "' ended without closing its communicator (its code threw"
                    + " or returned early; its last call: " + describe(lastCall.get(rank)) + ")";
        }
    }

    /** Rank {@code rank} closed its endpoint: ranks waiting for it fail instead of waiting. */
    public synchronized void left(int rank) {
        left[rank] = true;
        notifyAll();
    }
}
