package dev.longbow.comm.nccl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.comm.CollectiveTimeoutException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The NCCL watchdog's decisions, against a stand-in communicator (no NCCL, no GPU): an
 * asynchronous error or a call past its deadline stops the launch with a message naming the rank
 * and the call; calls that finish in time, and a healthy communicator, are left alone.
 */
class NcclWatchdogTest {
    private static final Duration DEADLINE = Duration.ofSeconds(10);

    /** A communicator whose asynchronous error the test sets, recording how the launch was stopped. */
    private static final class FakeComm implements NcclWatchdog.Watched {
        final AtomicReference<String> asyncError = new AtomicReference<>();
        final CompletableFuture<RuntimeException> failed = new CompletableFuture<>();

        @Override
        public void checkAsyncError() {
            String error = asyncError.get();
            if (error != null) {
                throw new IllegalStateException(error);
            }
        }

        @Override
        public void fail(RuntimeException cause) {
            failed.complete(cause);
        }

        @Override
        public String describe() {
            return "rank 3 of 8";
        }
    }

    @Test
    void aCallPastItsDeadlineIsReportedWithTheRankAndTheCall() {
        FakeComm comm = new FakeComm();
        AtomicLong now = new AtomicLong();
        NcclWatchdog watchdog = new NcclWatchdog(comm, DEADLINE, NcclWatchdog.POLL, now::get);
        watchdog.track("allReduce of TensorF32[1024]@DEVICE", () -> false);
        now.set(DEADLINE.toNanos());
        assertNull(watchdog.check(), "exactly at the deadline it may still finish");
        now.set(DEADLINE.toNanos() + 1);
        RuntimeException failure = watchdog.check();
        assertInstanceOf(CollectiveTimeoutException.class, failure);
        assertTrue(failure.getMessage().startsWith("rank 3 of 8: allReduce of TensorF32[1024]@DEVICE did not finish within 10 s"),
                failure.getMessage());
    }

    @Test
    void finishedCallsAreForgottenAndOnlyTheOldestUnfinishedOneCounts() {
        FakeComm comm = new FakeComm();
        AtomicLong now = new AtomicLong();
        NcclWatchdog watchdog = new NcclWatchdog(comm, DEADLINE, NcclWatchdog.POLL, now::get);
        AtomicBoolean secondDone = new AtomicBoolean();
        watchdog.track("allGather #1", () -> true);
        now.set(DEADLINE.toNanos() / 2);
        watchdog.track("allGather #2", secondDone::get);
        now.set(DEADLINE.toNanos() + 1);          // #1 is long past its deadline but finished; #2 is within its own
        assertNull(watchdog.check());
        secondDone.set(true);
        now.set(10 * DEADLINE.toNanos());
        assertNull(watchdog.check(), "everything finished: nothing is late");
    }

    @Test
    void anAsynchronousErrorIsReportedAtOnce() {
        FakeComm comm = new FakeComm();
        NcclWatchdog watchdog = new NcclWatchdog(comm, DEADLINE, NcclWatchdog.POLL, () -> 0);
        assertNull(watchdog.check());
        comm.asyncError.set("ncclCommGetAsyncError (asynchronous) failed: ncclRemoteError");
        RuntimeException failure = watchdog.check();
        assertInstanceOf(NcclWatchdogException.class, failure);
        assertTrue(failure.getMessage().startsWith("rank 3 of 8: NCCL reported an error in the background"), failure.getMessage());
        assertTrue(failure.getMessage().contains("ncclRemoteError"), failure.getMessage());
    }

    @Test
    void theWatchdogThreadStopsTheLaunchWithinTheDeadline() throws Exception {
        FakeComm comm = new FakeComm();
        long start = System.nanoTime();
        try (NcclWatchdog watchdog = new NcclWatchdog(comm, Duration.ofMillis(200), Duration.ofMillis(20), System::nanoTime).start()) {
            watchdog.track("barrier", () -> false);   // a peer that died: the call never finishes
            RuntimeException cause = comm.failed.get(10, TimeUnit.SECONDS);
            assertTrue(cause.getMessage().startsWith("rank 3 of 8: barrier did not finish within 0.2 s"), cause.getMessage());
        }
        assertTrue(System.nanoTime() - start < 5_000_000_000L, "stopped in bounded time");
    }

    @Test
    void aHealthyCommunicatorIsLeftAlone() throws Exception {
        FakeComm comm = new FakeComm();
        try (NcclWatchdog watchdog = new NcclWatchdog(comm, Duration.ofMillis(200), Duration.ofMillis(10), System::nanoTime).start()) {
            for (int i = 0; i < 20; i++) {
                watchdog.track("allReduce #" + i, () -> true);
                Thread.sleep(15);
            }
        }
        assertEquals(false, comm.failed.isDone(), "no failure for calls that finish");
    }
}
