package dev.longbow.comm.local;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.comm.CollectiveMismatchException;
import dev.longbow.comm.CollectiveTimeout;
import dev.longbow.comm.CollectiveTimeoutException;
import dev.longbow.comm.Communicator;
import dev.longbow.comm.RankFailedException;
import dev.longbow.comm.RankMemory;
import dev.longbow.comm.RankTask;
import dev.longbow.tensor.DType;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every collective of the in-process communicator finishes or fails in bounded time: a rank that
 * never comes, a rank that leaves, an unmatched transfer, and ranks that call different
 * collectives all fail every rank with a message naming the call and the ranks. Each case hung
 * forever before the group had deadlines and compared calls.
 */
class LocalDeadlinesTest {
    /** Short, so that the cases run in well under a second each. */
    private static final Duration TIMEOUT = Duration.ofMillis(300);
    /** Far longer than any case may take: a hang fails the test instead of stalling the build. */
    private static final Duration LIMIT = Duration.ofSeconds(20);

    private static Throwable failure(int ranks, RankTask<Void> task) {
        RankFailedException e = assertThrows(RankFailedException.class,
                () -> assertTimeoutPreemptively(LIMIT, () -> LocalRanks.run(ranks, BackendChoice.CPU, TIMEOUT, task)));
        return e.getCause();
    }

    private static void sleep(long millis) throws InterruptedException {
        Thread.sleep(millis);
    }

    @Test
    void aRankThatNeverComesFailsEveryRankNamingItAndTheCall() {
        long start = System.nanoTime();
        Throwable cause = failure(3, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                if (comm.rank() == 2) {
                    sleep(1_000);   // busy elsewhere, far past the timeout; its next call finds the group failed
                }
                comm.allReduce(mem.zeros(DType.F32, 4));
            }
            return null;
        });
        assertInstanceOf(CollectiveTimeoutException.class, cause);
        String m = cause.getMessage();
        assertTrue(m.startsWith("allReduce #1 (F32[4]) timed out after 0.3 s on a group of 3 ranks: ranks [0, 1] arrived, "
                + "rank 2 (last call: none yet) did not"), m);
        assertTrue(m.contains("LONGBOW_COLLECTIVE_TIMEOUT"), m);
        assertTrue(System.nanoTime() - start < 10_000_000_000L, "failed within the timeout, not the test's limit");
    }

    @Test
    void aRankThatLeavesWithoutCallingFailsTheOthersAtOnce() {
        Throwable cause = failure(3, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                comm.allReduce(mem.zeros(DType.F32, 4));
                if (comm.rank() != 2) {
                    comm.allReduce(mem.zeros(DType.F32, 4));   // rank 2 skipped this one and returned
                }
            }
            return null;
        });
        assertInstanceOf(CollectiveMismatchException.class, cause);
        assertTrue(cause.getMessage().startsWith("allReduce #2 (F32[4]) cannot complete on a group of 3 ranks: rank 2 closed its "
                + "communicator without calling it (its last call: allReduce #1 (F32[4]))"), cause.getMessage());
    }

    @Test
    void differentKindsNameBothSides() {
        Throwable cause = failure(2, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                if (comm.rank() == 0) {
                    comm.barrier();
                } else {
                    comm.allReduce(mem.zeros(DType.F32, 4));
                }
            }
            return null;
        });
        assertInstanceOf(CollectiveMismatchException.class, cause);
        assertTrue(cause.getMessage().contains("rank 0 called barrier #1 but rank 1 called allReduce #1 (F32[4])"), cause.getMessage());
    }

    @Test
    void differentDtypesOfTheSameSizeNameBothSides() {
        Throwable cause = failure(2, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                comm.allReduce(mem.zeros(comm.rank() == 0 ? DType.BF16 : DType.F16, 4));
            }
            return null;
        });
        assertTrue(cause.getMessage().contains("rank 0 called allReduce #1 (BF16[4]) but rank 1 called allReduce #1 (F16[4])"),
                cause.getMessage());
    }

    @Test
    void aSkippedCallIsNamedWhereTheRanksMeetAgain() {
        // Rank 1 skips the barrier; its all-reduce meets the others' barrier.
        Throwable cause = failure(2, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                comm.allReduce(mem.zeros(DType.F32, 4));
                if (comm.rank() == 0) {
                    comm.barrier();
                }
                comm.allReduce(mem.zeros(DType.F32, 4));
            }
            return null;
        });
        assertTrue(cause.getMessage().contains("rank 0 called barrier #2 but rank 1 called allReduce #2 (F32[4])"), cause.getMessage());
    }

    @Test
    void anUnmatchedTransferFailsAfterTheTimeoutNamingThePeer() {
        Throwable cause = failure(2, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                if (comm.rank() == 0) {
                    comm.sendRecv(mem.zeros(DType.F32, 4), 1, mem.zeros(DType.F32, 4), 1).await();  // rank 1 posts nothing
                } else {
                    sleep(1_000);
                    comm.barrier();
                }
            }
            return null;
        });
        assertInstanceOf(CollectiveTimeoutException.class, cause);
        assertTrue(cause.getMessage().startsWith("sendRecv on rank 0 of a group of 2: the send of TensorF32[4]@HOST to rank 1 "
                + "did not complete within 0.3 s"), cause.getMessage());
    }

    @Test
    void splitGroupsKeepTheDeadline() {
        Throwable cause = failure(4, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend); Communicator half = comm.split(comm.rank() % 2, comm.rank())) {
                if (comm.rank() == 3) {
                    sleep(1_000);
                }
                half.allReduce(mem.zeros(DType.F32, 2));
            }
            return null;
        });
        assertInstanceOf(CollectiveTimeoutException.class, cause);
        assertTrue(cause.getMessage().contains("ranks [0] arrived, rank 1 (last call: none yet) did not"), cause.getMessage());
    }

    @Test
    void theDefaultIsTenMinutesAndTheVariableSetsIt() {
        assertEquals(Duration.ofMinutes(10), CollectiveTimeout.from(Map.of()));
        assertEquals(Duration.ofSeconds(42), CollectiveTimeout.from(Map.of("LONGBOW_COLLECTIVE_TIMEOUT", "42")));
        assertEquals("LONGBOW_COLLECTIVE_TIMEOUT='soon' is not a whole number of seconds", assertThrows(IllegalArgumentException.class,
                () -> CollectiveTimeout.from(Map.of("LONGBOW_COLLECTIVE_TIMEOUT", "soon"))).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CollectiveTimeout.from(Map.of("LONGBOW_COLLECTIVE_TIMEOUT", "0")))
                .getMessage().contains("must be more than 0 and at most 86400 s"));
    }
}
