package dev.longbow.comm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.longbow.backend.Pending;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What every {@link Communicator} must do, checked on P ranks. A subclass says how to run a task
 * on P ranks ({@link #onRanks}); the in-process communicator and NCCL share these tests.
 *
 * <p>Values are small integers, exact in every float type, so sums are compared exactly; every
 * expected value is computed here from the rank numbers, independently of the communicator.
 */
public abstract class CommunicatorContract {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    protected CommunicatorContract() {
    }

    /** Runs {@code task} on {@code ranks} ranks; rethrows a rank's failure as {@link RankFailedException}. */
    protected abstract <T> List<T> onRanks(int ranks, RankTask<T> task);

    private <T> List<T> run(int ranks, RankTask<T> task) {
        return assertTimeoutPreemptively(LIMIT, () -> onRanks(ranks, task));
    }

    /** Element e of rank r's block j: distinct for every (r, j, e) and exact in bf16. */
    private static float value(int r, int j, int e) {
        return r * 64 + j * 8 + e % 8 - 100;
    }

    private static float[] values(int r, int blocks, int perBlock, int j0) {
        float[] v = new float[blocks * perBlock];
        for (int j = 0; j < blocks; j++) {
            for (int e = 0; e < perBlock; e++) {
                v[j * perBlock + e] = value(r, j0 + j, e);
            }
        }
        return v;
    }

    @ParameterizedTest(name = "P={0}")
    @ValueSource(ints = {1, 2, 3, 4})
    void sendRecvMovesTensorsAroundARing(int p) {
        run(p, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                int r = comm.rank();
                Tensor send = mem.upload(DType.F32, values(r, 1, 6, 0), 2, 3);
                Tensor recv = mem.zeros(DType.F32, 2, 3);
                comm.sendRecv(send, (r + 1) % p, recv, (r + p - 1) % p).await();
                assertArrayEquals(values((r + p - 1) % p, 1, 6, 0), mem.download(recv));
            }
            return null;
        });
    }

    @ParameterizedTest(name = "P={0}")
    @ValueSource(ints = {2, 3, 4})
    void sendRecvProgressesBeforeTheSenderAwaits(int p) {
        // Rank 0 posts its send and then blocks until rank 1 has received it; a transfer that
        // only moved inside rank 0's await() would never arrive and the test would time out.
        CountDownLatch received = new CountDownLatch(1);
        run(p, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                int r = comm.rank();
                Tensor send = mem.upload(DType.F32, values(r, 1, 4, 0), 4);
                Tensor recv = mem.zeros(DType.F32, 4);
                Pending pending = comm.sendRecv(send, (r + 1) % p, recv, (r + p - 1) % p);
                if (r == 0) {
                    if (!received.await(20, TimeUnit.SECONDS)) {
                        throw new AssertionError("rank 1 never received rank 0's tensor while rank 0 was busy");
                    }
                    pending.await();
                } else {
                    pending.await();
                    if (r == 1) {
                        assertArrayEquals(values(0, 1, 4, 0), mem.download(recv));
                        received.countDown();
                    }
                }
            }
            return null;
        });
    }

    @ParameterizedTest(name = "P={0}")
    @ValueSource(ints = {1, 2, 3, 4})
    void allToAllSendsBlockJToRankJ(int p) {
        run(p, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                int r = comm.rank();
                Tensor send = mem.upload(DType.BF16, values(r, p, 6, 0), p * 2L, 3);
                Tensor recv = mem.zeros(DType.BF16, p * 2L, 3);
                comm.allToAll(send, recv);
                float[] expected = new float[p * 6];
                for (int i = 0; i < p; i++) {
                    System.arraycopy(values(i, 1, 6, r), 0, expected, i * 6, 6);
                }
                assertArrayEquals(expected, mem.download(recv));
            }
            return null;
        });
    }

    @ParameterizedTest(name = "P={0}")
    @ValueSource(ints = {1, 2, 3, 4})
    void allGatherConcatenatesInRankOrder(int p) {
        run(p, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                Tensor send = mem.upload(DType.F32, values(comm.rank(), 1, 5, 0), 5);
                Tensor recv = mem.zeros(DType.F32, p * 5L);
                comm.allGather(send, recv);
                float[] expected = new float[p * 5];
                for (int i = 0; i < p; i++) {
                    System.arraycopy(values(i, 1, 5, 0), 0, expected, i * 5, 5);
                }
                assertArrayEquals(expected, mem.download(recv));
            }
            return null;
        });
    }

    @ParameterizedTest(name = "P={0}")
    @ValueSource(ints = {1, 2, 3, 4})
    void reduceScatterSumsBlockRankOverRanks(int p) {
        run(p, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                int r = comm.rank();
                Tensor send = mem.upload(DType.F32, values(r, p, 6, 0), p * 3L, 2);
                Tensor recv = mem.zeros(DType.F32, 3, 2);
                comm.reduceScatter(send, recv);
                float[] expected = new float[6];
                for (int i = 0; i < p; i++) {
                    float[] block = values(i, 1, 6, r);
                    for (int e = 0; e < 6; e++) {
                        expected[e] += block[e];
                    }
                }
                assertArrayEquals(expected, mem.download(recv));
            }
            return null;
        });
    }

    @ParameterizedTest(name = "P={0}")
    @ValueSource(ints = {1, 2, 3, 4})
    void allReduceLeavesTheSumOnEveryRank(int p) {
        run(p, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                for (DType dtype : new DType[] {DType.F32, DType.BF16}) {
                    Tensor inout = mem.upload(dtype, values(comm.rank(), 1, 7, 0), 7);
                    comm.allReduce(inout);
                    float[] expected = new float[7];
                    for (int i = 0; i < p; i++) {
                        for (int e = 0; e < 7; e++) {
                            expected[e] += value(i, 0, e);
                        }
                    }
                    assertArrayEquals(expected, mem.download(inout), dtype.toString());
                }
            }
            return null;
        });
    }

    @ParameterizedTest(name = "P={0}")
    @ValueSource(ints = {1, 2, 3, 4})
    void barrierHoldsEveryRankUntilAllArrive(int p) {
        AtomicInteger arrived = new AtomicInteger();
        run(p, (backend, comm) -> {
            for (int round = 1; round <= 3; round++) {
                arrived.incrementAndGet();
                comm.barrier();
                assertEquals(round * p, arrived.get(), "a rank passed the barrier before all had arrived");
                comm.barrier();
            }
            return null;
        });
    }

    @ParameterizedTest(name = "P={0}")
    @ValueSource(ints = {1, 2, 4})
    void splitMakesRowsAndColumnsOfARankGrid(int p) {
        int cols = p >= 2 ? 2 : 1;
        List<int[]> seen = run(p, (backend, comm) -> {
            int r = comm.rank();
            try (RankMemory mem = new RankMemory(backend);
                 Communicator row = comm.split(r / cols, r % cols);
                 Communicator col = comm.split(r % cols, -r)) {
                Tensor rowSum = mem.upload(DType.F32, new float[] {r}, 1);
                row.allReduce(rowSum);
                Tensor colGather = mem.zeros(DType.F32, col.size());
                col.allGather(mem.upload(DType.F32, new float[] {r}, 1), colGather);
                return new int[] {row.rank(), row.size(), col.rank(), col.size(),
                        (int) mem.download(rowSum)[0], (int) mem.download(colGather)[0]};
            }
        });
        int rows = p / cols;
        for (int r = 0; r < p; r++) {
            int rowStart = r / cols * cols;
            int rowSum = 0;
            for (int c = 0; c < cols; c++) {
                rowSum += rowStart + c;
            }
            int lastOfColumn = (rows - 1) * cols + r % cols;
            // the column was ordered by key -r: its rank 0 is the column's highest global rank
            assertArrayEquals(new int[] {r % cols, cols, rows - 1 - r / cols, rows, rowSum, lastOfColumn}, seen.get(r), "rank " + r);
        }
    }

    @ParameterizedTest(name = "P={0}")
    @ValueSource(ints = {1, 2, 3, 4})
    void trafficCountsWhatARingAlgorithmMoves(int p) {
        // Conventions (bytes per rank, n = the per-rank buffer, self-transfers free):
        // sendRecv: the tensor each way to another rank; all-to-all and all-gather and
        // reduce-scatter: (P-1) blocks each way; all-reduce: 2(P-1)/P of the buffer each way.
        List<Traffic> traffic = run(p, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                int r = comm.rank();
                Tensor a = mem.zeros(DType.F32, p * 4L, 8);   // 32 * p floats, 128 bytes per block
                Tensor b = mem.zeros(DType.F32, p * 4L, 8);
                Tensor block = mem.zeros(DType.F32, 4, 8);
                Traffic before = comm.traffic();
                comm.sendRecv(block, (r + 1) % p, mem.zeros(DType.F32, 4, 8), (r + p - 1) % p).await();
                comm.allToAll(a, b);
                comm.allGather(block, a);
                comm.reduceScatter(a, block);
                comm.allReduce(b);
                return comm.traffic().minus(before);
            }
        });
        long blockBytes = 4 * 8 * 4;
        long p2p = p > 1 ? blockBytes : 0;
        long allReduce = 2L * (p - 1) * (p * blockBytes) / p;
        long expected = p2p + 3L * (p - 1) * blockBytes + allReduce;
        for (Traffic t : traffic) {
            assertEquals(new Traffic(expected, expected), t);
        }
    }

    @ParameterizedTest(name = "P={0}")
    @ValueSource(ints = {2, 3, 4})
    void aFailingRankStopsTheOthersAndIsNamed(int p) {
        RankFailedException e = assertThrows(RankFailedException.class, () -> run(p, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                if (comm.rank() == p - 1) {
                    throw new IllegalStateException("boom on the last rank");
                }
                Tensor t = mem.zeros(DType.F32, 4);
                comm.allReduce(t);     // the others block here until the group is aborted
                comm.barrier();
            }
            return null;
        }));
        assertEquals(p - 1, e.rank());
        assertInstanceOf(IllegalStateException.class, e.getCause());
    }
}
