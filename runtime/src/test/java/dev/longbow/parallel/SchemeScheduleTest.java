package dev.longbow.parallel;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.comm.RankMemory;
import dev.longbow.comm.local.LocalRanks;
import dev.longbow.parallel.IssueLog.Kind;
import dev.longbow.parallel.WallFacer.Arrangement;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Backward overlaps its transfers with compute: what each rank issues is logged, and a transfer or
 * host fetch that could travel during a block's attention must be posted before that attention and
 * awaited after it. bf16 inputs tell the fp32 gradients apart from the K/V and queries that travel
 * with them. Timing is left to the benchmarks; this checks the order of issue that makes overlap
 * possible.
 */
class SchemeScheduleTest {

    /** Runs forward, then backward with each rank's log on; zero inputs, since only the order of issue matters. */
    private static List<IssueLog> backwardLogs(Scheme config, AttentionShape shape, int ranks) {
        return LocalRanks.run(ranks, BackendChoice.CPU, (real, realComm) -> {
            IssueLog log = new IssueLog();
            long n = shape.localLen(ranks);
            long d = shape.headDim();
            try (RankMemory mem = new RankMemory(real);
                 SequenceParallelAttention scheme = config.attention(shape, log.backend(real), log.communicator(realComm))) {
                Tensor q = mem.zeros(shape.dtype(), n, shape.heads(), d);
                Tensor k = mem.zeros(shape.dtype(), n, shape.kvHeads(), d);
                Tensor v = mem.zeros(shape.dtype(), n, shape.kvHeads(), d);
                Tensor out = mem.zeros(shape.dtype(), n, shape.heads(), d);
                Tensor lse = mem.zeros(DType.F32, n, shape.heads());
                try (var saved = scheme.forward(q, k, v, out, lse)) {
                    log.on = true;
                    scheme.backward(saved, mem.zeros(shape.dtype(), n, shape.heads(), d), mem.zeros(shape.dtype(), n, shape.heads(), d),
                            mem.zeros(shape.dtype(), n, shape.kvHeads(), d), mem.zeros(shape.dtype(), n, shape.kvHeads(), d));
                    log.on = false;
                }
            }
            return log;
        });
    }

    private static boolean fp32Gradient(Tensor t) {
        return t.dtype() == DType.F32 && t.shape().rank() == 3;
    }

    /** Every window but the last {@code unhidden} has an attention call inside it. */
    private static void assertComputeInside(String what, IssueLog log, List<IssueLog.Window> windows, int unhidden) {
        for (int i = 0; i < windows.size() - unhidden; i++) {
            IssueLog.Window w = windows.get(i);
            assertTrue(w.awaited() > w.posted(), what + " " + i + " was never awaited");
            assertTrue(log.between(w, Kind.COMPUTE) > 0, what + " " + i + " of " + windows.size() + " is awaited before any attention runs under it");
        }
    }

    /**
     * Ring: the dK/dV of the block computed at step j travel while step j+1 computes; only the
     * last pair (R sends of dK and dV, the last bringing each block home) has nothing left to hide behind.
     */
    @Test
    void ringGradientsTravelWhileTheNextBlockComputes() {
        int ranks = 4;
        AttentionShape shape = new AttentionShape(64, 4, 2, 32, DType.BF16, true);
        for (IssueLog log : backwardLogs(new Ring(), shape, ranks)) {
            var gradients = log.windows(SchemeScheduleTest::fp32Gradient);
            assertEquals(2 * ranks, gradients.size(), "dK and dV sent once per step");
            assertComputeInside("ring dK/dV transfer", log, gradients, 2);
        }
    }

    /** WallFacer: the travelling dQ trails its bundle the same way; its trip home is the one left. */
    @Test
    void wallFacerQueryGradientTravelsWhileTheNextBundleComputes() {
        int ranks = 8;
        int team = 2;
        AttentionShape shape = new AttentionShape(64, 4, 2, 32, DType.BF16, true);
        for (IssueLog log : backwardLogs(new WallFacer(team, Arrangement.TEAMS_ADJACENT), shape, ranks)) {
            var gradients = log.windows(SchemeScheduleTest::fp32Gradient);
            assertEquals(ranks / (team * team), gradients.size(), "dQ sent once per sub-ring step, the last one home");
            assertComputeInside("wallfacer dQ transfer", log, gradients, 1);
        }
    }

    /**
     * FPDT, 4 chunks per rank: each K/V chunk but the first is fetched while the previous pair
     * computes, the first while dO is exchanged; each query chunk's fetch (seen by its fp32 LSE,
     * which only those fetches copy in backward) but the first is posted before the previous pair
     * computes, across K/V chunk boundaries too.
     */
    @ParameterizedTest(name = "causal={0}")
    @ValueSource(booleans = {true, false})
    void fpdtFetchesEveryChunkWhileThePreviousOneComputes(boolean causal) {
        int ranks = 2;
        int chunks = 4;
        AttentionShape shape = new AttentionShape(128, 8, 2, 32, DType.BF16, causal);
        long kvHeadsPerRank = shape.kvHeads() / ranks;
        int pairs = causal ? chunks * (chunks + 1) / 2 : chunks * chunks;
        for (IssueLog log : backwardLogs(new Fpdt(128 / ranks / chunks), shape, ranks)) {
            var keys = log.windows(t -> t.dtype() == DType.BF16 && t.dim(1) == kvHeadsPerRank);
            assertEquals(2 * chunks, keys.size(), "K and V of every chunk fetched once");
            for (IssueLog.Window first : keys.subList(0, 2)) {
                assertTrue(log.between(first, Kind.COLLECTIVE) > 0, "the first K/V chunk travels while dO is exchanged");
            }
            assertComputeInside("fpdt K/V fetch", log, keys.subList(2, keys.size()), 0);
            var queries = log.windows(t -> t.dtype() == DType.F32 && t.shape().rank() == 2);
            assertEquals(pairs, queries.size(), "one query fetch per pair");
            assertComputeInside("fpdt query fetch", log, queries.subList(1, queries.size()), 0);
        }
    }
}
