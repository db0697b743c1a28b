package dev.longbow.comm.nccl;

import dev.longbow.comm.CollectiveTimeout;
import dev.longbow.comm.CollectiveTimeoutException;
import java.time.Duration;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * Watches one NCCL communicator from a thread of its own, as PyTorch's NCCL watchdog does: it
 * polls {@code ncclCommGetAsyncError} and the end of every call in flight, and when NCCL reports
 * an error, or a call has not finished within the deadline, it fails the launch with a message
 * naming the rank and the call. Failing the launch aborts every communicator of it, which ends
 * NCCL's kernels that wait for a dead peer, so the ranks blocked on them wake up: a lost rank
 * stops every process of the job in bounded time instead of leaving them waiting forever.
 *
 * <p>Calls on one communicator finish in the order they were issued (one stream), so only the
 * oldest unfinished call can be late.
 */
final class NcclWatchdog implements AutoCloseable {
    /** How often the watchdog looks when nothing says otherwise. */
    static final Duration POLL = Duration.ofMillis(100);

    /** What the watchdog watches, and how it stops the launch. */
    interface Watched {
        /** Throws when NCCL reports an asynchronous error on the communicator (a peer died, a network failure). */
        void checkAsyncError();

        /** Stops the launch with {@code cause}: aborts this and every other communicator of it. */
        void fail(RuntimeException cause);

        /** "rank 3 of 8", for messages. */
        String describe();
    }

    private record InFlight(String call, long issuedNanos, BooleanSupplier done) {
    }

    private final Watched watched;
    private final Duration deadline;
    private final Duration poll;
    private final LongSupplier clock;
    private final ConcurrentLinkedDeque<InFlight> inFlight = new ConcurrentLinkedDeque<>();
    private volatile boolean stopped;
    private Thread thread;

    /**
     * @param deadline how long one call may take from being issued to its end
     * @param clock    nanoseconds, {@link System#nanoTime} outside tests
     */
    NcclWatchdog(Watched watched, Duration deadline, Duration poll, LongSupplier clock) {
        this.watched = watched;
        this.deadline = CollectiveTimeout.require(deadline, "the NCCL watchdog");
        this.poll = poll;
        this.clock = clock;
    }

    /** Starts watching on a daemon thread. */
    NcclWatchdog start() {
        thread = Thread.ofPlatform().daemon().name("longbow-nccl-watchdog-" + watched.describe().replace(' ', '-')).start(this::watch);
        return this;
    }

    /** A call was issued; {@code done} says whether it has finished (an event after it on the stream). */
    void track(String call, BooleanSupplier done) {
        inFlight.addLast(new InFlight(call, clock.getAsLong(), done));
    }

    /** One look at the communicator: the failure to stop the launch with, or null while all is well. */
    RuntimeException check() {
        try {
            watched.checkAsyncError();
        } catch (RuntimeException e) {
            return new NcclWatchdogException(watched.describe() + ": NCCL reported an error in the background (a peer process "
                    + "died or the network failed): " + e.getMessage() + "; the launch is aborted on this process", e);
        }
        for (InFlight oldest = inFlight.peekFirst(); oldest != null; oldest = inFlight.peekFirst()) {
            boolean done;
            try {
                done = oldest.done().getAsBoolean();
            } catch (RuntimeException e) {
                return new NcclWatchdogException(watched.describe() + ": asking whether " + oldest.call() + " finished failed: "
                        + e.getMessage() + "; the launch is aborted on this process", e);
            }
            if (!done) {
                long waited = clock.getAsLong() - oldest.issuedNanos();
                if (waited > deadline.toNanos()) {
                    return new CollectiveTimeoutException(watched.describe() + ": " + oldest.call() + " did not finish within "
                            + CollectiveTimeout.format(deadline) + " (a peer rank is dead, stuck or called something else); "
                            + "the launch is aborted on this process; raise " + CollectiveTimeout.VARIABLE
                            + " if a rank legitimately needs longer");
                }
                return null;
            }
            inFlight.pollFirst();
        }
        return null;
    }

    private void watch() {
        while (!stopped) {
            try {
                Thread.sleep(poll);
            } catch (InterruptedException e) {
                return;
            }
            RuntimeException failure = stopped ? null : check();
            if (failure != null) {
                watched.fail(failure);
                return;
            }
        }
    }

    /** Stops watching and waits for the watchdog thread: after this it touches nothing of the communicator. */
    @Override
    public void close() {
        stopped = true;
        if (thread != null && thread != Thread.currentThread()) {
            thread.interrupt();
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
