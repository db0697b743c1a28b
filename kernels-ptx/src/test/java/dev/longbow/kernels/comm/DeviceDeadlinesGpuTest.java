package dev.longbow.kernels.comm;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.comm.CollectiveMismatchException;
import dev.longbow.comm.CollectiveTimeoutException;
import dev.longbow.comm.RankFailedException;
import dev.longbow.comm.RankMemory;
import dev.longbow.comm.RankTask;
import dev.longbow.comm.GroupAbortedException;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Nothing waits forever: a rank that does not come to a call, a rank whose call differs, a
 * transfer nobody matches, a rank that leaves, a bad argument. Every rank fails, within the
 * (short) deadline, with a message that names the ranks and the call.
 */
@Tag("gpu")
class DeviceDeadlinesGpuTest {
    private static final Duration DEADLINE = Duration.ofMillis(1500);
    /** What the host may take beyond the deadline to notice it and unwind. */
    private static final long SLACK_MILLIS = 3000;

    /** What one rank saw: the message of the exception a call threw (null: none), and when. */
    private record Seen(String message, Class<?> type, long millis) {
    }

    private static <T> List<T> onRanks(int ranks, RankTask<T> task) {
        return new DeviceLauncher().run(ranks, BackendChoice.CUDA, DEADLINE, task);
    }

    @Test
    void aRankThatNeverComesFailsEveryRankNamingItAndTheCall() {
        long start = System.nanoTime();
        List<Seen> seen = onRanks(3, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                Tensor t = mem.zeros(DType.F32, 8);
                if (comm.rank() == 2) {
                    Thread.sleep(2 * DEADLINE.toMillis());    // stuck elsewhere, far past the deadline
                }
                return attempt(start, () -> comm.allReduce(t));
            }
        });
        for (int r = 0; r < 2; r++) {
            Seen s = seen.get(r);
            assertTrue(s.millis() < DEADLINE.toMillis() + SLACK_MILLIS, "rank " + r + " failed only after " + s.millis() + " ms");
            assertTrue(s.message().contains("allReduce #1 (F32 x 8 -> F32 x 8) timed out after 1.5 s on a device group of 3 ranks"),
                    s.message());
            assertTrue(s.message().contains("ranks [0, 1] arrived, rank 2 (last call: none yet) did not"), s.message());
        }
        // the latecomer finds the group already failed, and why
        assertEquals(GroupAbortedException.class, seen.get(2).type());
        assertTrue(seen.get(2).message().contains("rank 2 (last call: none yet) did not"), seen.get(2).message());
    }

    @Test
    void ranksCallingDifferentCollectivesAllFailNamingBothSides() {
        List<Seen> seen = onRanks(2, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                Tensor t = mem.zeros(DType.F32, 8L * (comm.rank() + 1));
                long start = System.nanoTime();
                return attempt(start, () -> comm.allReduce(t));
            }
        });
        for (Seen s : seen) {
            assertEquals(CollectiveMismatchException.class, s.type());
            assertTrue(s.message().contains("rank 0 called allReduce #1 (F32 x 8 -> F32 x 8) but rank 1 called allReduce #1"
                    + " (F32 x 16 -> F32 x 16)"), s.message());
            assertTrue(s.millis() < SLACK_MILLIS, "a mismatch waited " + s.millis() + " ms");
        }
    }

    @Test
    void aSendNobodyReceivesFailsWithinTheDeadlineNamingThePeer() {
        long start = System.nanoTime();
        List<Seen> seen = onRanks(2, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                Tensor t = mem.zeros(DType.F32, 8);
                if (comm.rank() == 1) {
                    Thread.sleep(2 * DEADLINE.toMillis());    // never posts its half
                    return attempt(start, comm::barrier);
                }
                return attempt(start, () -> comm.sendRecv(t, 1, mem.zeros(DType.F32, 8), 1).await());
            }
        });
        Seen sender = seen.getFirst();
        assertEquals(CollectiveTimeoutException.class, sender.type());
        assertTrue(sender.millis() < DEADLINE.toMillis() + SLACK_MILLIS, "the sender failed only after " + sender.millis() + " ms");
        assertTrue(sender.message().startsWith("sendRecv #1 of rank 0 (send of TensorF32[8]@DEVICE to rank 1) was not matched"
                + " within 1.5 s: rank 1 posted no matching sendRecv"), sender.message());
        assertEquals(GroupAbortedException.class, seen.get(1).type());
    }

    @Test
    void aRankThatLeavesWithoutCallingFailsTheOthersAtOnce() {
        List<Seen> seen = onRanks(3, (backend, comm) -> {
            if (comm.rank() == 1) {
                return null;    // done: its endpoint closes
            }
            try (RankMemory mem = new RankMemory(backend)) {
                Tensor t = mem.zeros(DType.F32, 4);
                long start = System.nanoTime();
                return attempt(start, () -> comm.allGather(t, mem.zeros(DType.F32, 12)));
            }
        });
        for (int r : new int[] {0, 2}) {
            Seen s = seen.get(r);
            assertTrue(s.millis() < SLACK_MILLIS, "rank " + r + " waited " + s.millis() + " ms for a rank that had left");
            assertTrue(s.message().contains("rank 1 closed its communicator without calling it (its last call: none yet)"),
                    s.message());
        }
    }

    @Test
    void transfersOfDifferentSizesFailBothSidesNamingBoth() {
        List<Seen> seen = onRanks(2, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                int peer = 1 - comm.rank();
                Tensor send = mem.zeros(DType.F32, 4L + comm.rank());
                Tensor recv = mem.zeros(DType.F32, 4L + comm.rank());
                long start = System.nanoTime();
                return attempt(start, () -> comm.sendRecv(send, peer, recv, peer).await());
            }
        });
        for (Seen s : seen) {
            assertTrue(s.message().contains("does not fit"), s.message());
            assertTrue(s.message().contains("of rank 0") && s.message().contains("of rank 1"), s.message());
        }
    }

    @Test
    void badArgumentsAreRefusedNamingTheValues() {
        RankFailedException e = assertThrows(RankFailedException.class, () -> onRanks(2, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                comm.allGather(mem.zeros(DType.F32, 4), mem.zeros(DType.F32, 6));
            }
            return null;
        }));
        assertInstanceOf(IllegalArgumentException.class, e.getCause());
        assertEquals("allGather #1 (F32 x 4 -> F32 x 6): recv TensorF32[6]@DEVICE must hold group size 2 times send"
                + " TensorF32[4]@DEVICE", e.getCause().getMessage());
        IllegalArgumentException gpu = assertThrows(IllegalArgumentException.class,
                () -> new DeviceLauncher().withDevices(List.of(0, 99)).run(2, BackendChoice.CUDA, (backend, comm) -> null));
        assertTrue(gpu.getMessage().startsWith("GPU 99 of [0, 99] does not exist: the CUDA driver sees "), gpu.getMessage());
        IllegalArgumentException backend = assertThrows(IllegalArgumentException.class,
                () -> new DeviceLauncher().run(2, BackendChoice.CPU, (b, comm) -> null));
        assertEquals("the device communicator moves the memory of backend 'cuda', not 'cpu'", backend.getMessage());
    }

    @FunctionalInterface
    private interface Call {
        void run() throws Exception;
    }

    /** Runs {@code call} and returns what it threw and when, or a Seen with no message when it returned. */
    private static Seen attempt(long start, Call call) {
        try {
            call.run();
            return new Seen(null, null, millisSince(start));
        } catch (Exception e) {
            return new Seen(e.getMessage(), e.getClass(), millisSince(start));
        }
    }

    private static long millisSince(long start) {
        return (System.nanoTime() - start) / 1_000_000;
    }
}
