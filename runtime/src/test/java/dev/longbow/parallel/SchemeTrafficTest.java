package dev.longbow.parallel;

import dev.longbow.testing.ShardedProblem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.comm.Traffic;
import dev.longbow.parallel.WallFacer.Arrangement;
import dev.longbow.tensor.DType;
import java.util.List;
import java.util.Random;
import java.util.function.IntFunction;
import java.util.function.IntToLongFunction;
import org.junit.jupiter.api.Test;

/**
 * The bytes each rank sends and receives per call equal each scheme's communication volume,
 * derived here from the algorithm (not read from the code): n = S/P tokens per rank, b = 4 bytes
 * per fp32 element, h = Hq D and g = Hkv D elements per token of q and of k. Every transfer in
 * these schemes is symmetric, so sent = received on every rank. Collectives count as a ring
 * algorithm moves them: an all-to-all, all-gather or reduce-scatter over G ranks moves (G-1)
 * blocks each way; data sent to oneself is free.
 */
class SchemeTrafficTest {
    private static final long B = 4;

    private static ShardedProblem problem(long seqLen, int heads, int kvHeads) {
        return new ShardedProblem(new AttentionShape(seqLen, heads, kvHeads, 64, DType.F32, true), new Random(seqLen));
    }

    private static void assertEachRank(String what, List<ShardedProblem.RankResult> results, boolean forward, IntToLongFunction expected) {
        for (int r = 0; r < results.size(); r++) {
            CallStats stats = forward ? results.get(r).forward() : results.get(r).backward();
            long bytes = expected.applyAsLong(r);
            assertEquals(new Traffic(bytes, bytes), stats.traffic(), what + (forward ? " forward" : " backward") + ", rank " + r);
        }
    }

    /**
     * Ulysses: all-to-alls of q, k, v, out (and the fp32 lse) forward, of dout, dq, dk, dv
     * backward, each moving P-1 blocks of n tokens x (heads / P): per rank (P-1)/P n (2h + 2g') b
     * plus the lse, with g' the KV width after replicating KV heads up to P. For MHA that is
     * (P-1)/P (4 S h b / P + S Hq b / P): with S/P fixed it tends to a constant as P grows.
     */
    @Test
    void ulyssesMovesFourAllToAllsEachWay() {
        long n = 16;
        long d = 64;
        for (int hkv : new int[] {8, 2}) {
            for (int ranks : new int[] {2, 4, 8}) {
                ShardedProblem p = problem(n * ranks, 8, hkv);
                long qBlock = n * (8 / ranks) * d * B;
                long kvBlock = n * (Math.max(hkv, ranks) / ranks) * d * B;
                long lseBlock = n * (8 / ranks) * B;
                var results = p.run(new Ulysses(), ranks);
                assertEachRank("ulysses Hkv=" + hkv + " P=" + ranks, results, true, r -> (ranks - 1) * (2 * qBlock + 2 * kvBlock + lseBlock));
                assertEachRank("ulysses Hkv=" + hkv + " P=" + ranks, results, false, r -> (ranks - 1) * (2 * qBlock + 2 * kvBlock));
                if (hkv == 8) {
                    long perRankConstant = n * (4 * 8 * d + 8) * B;
                    assertEquals(perRankConstant * (ranks - 1), results.getFirst().forward().traffic().bytesSent() * ranks,
                            "(P-1)/P times a constant when S/P is fixed");
                }
            }
        }
    }

    /** FPDT is Ulysses chunk by chunk: the same all-to-alls over the same tokens, so the same bytes. */
    @Test
    void fpdtMovesWhatUlyssesMoves() {
        ShardedProblem p = problem(256, 8, 2);
        List<ShardedProblem.RankResult> ulysses = p.run(new Ulysses(), 4);
        List<ShardedProblem.RankResult> fpdt = p.run(new Fpdt(8), 4);
        for (int r = 0; r < 4; r++) {
            assertEquals(ulysses.get(r).forward().traffic(), fpdt.get(r).forward().traffic());
            assertEquals(ulysses.get(r).backward().traffic(), fpdt.get(r).backward().traffic());
        }
    }

    /** Ring: P-1 K/V blocks forward; backward P-1 K/V blocks plus P fp32 dK/dV blocks (the last brings them home). */
    @Test
    void ringMovesPMinusOneKeyValueBlocks() {
        for (int ranks : new int[] {1, 2, 4, 8}) {
            ShardedProblem p = problem(128, 4, 2);
            long kv = 2 * p.shape.localLen(ranks) * 2 * 64 * B;
            var results = p.run(new Ring(), ranks);
            assertEachRank("ring P=" + ranks, results, true, r -> (ranks - 1) * kv);
            assertEachRank("ring P=" + ranks, results, false, r -> (ranks - 1) * kv + (ranks > 1 ? ranks * kv : 0));
        }
    }

    /**
     * WallFacer with teams of C and sub-rings of L = P/C^2, m = C n team rows:
     * team all-gathers of q, k, v: (C-1) n (h + 2g); the placing transfer on members pos != 0:
     * m 2g; L-1 ring steps of m 2g, which is (P - C^2)/(C P) of the sequence's K/V; the merge
     * (an all-to-all of fp32 partial out and lse): (C-1) n (h + Hq). Together with the
     * all-gathers the team collectives carry about 4 (C-1)/P of the sequence.
     * Backward: all-gathers of k, v, q, out, dout, lse; placement of q, out, dout, lse; ring steps
     * of those plus the fp32 dq; dq's trip home; reduce-scatters of fp32 dq, dk, dv.
     */
    @Test
    void wallFacerMovesItsFormulaAndFarLessThanRingAtSixteenRanks() {
        int ranks = 16;
        ShardedProblem p = problem(128, 8, 8);
        long n = p.shape.localLen(ranks);
        long h = 8 * 64;
        long g = 8 * 64;
        long lse = 8;
        long ringBytes = 0;
        for (int c : new int[] {1, 2, 4}) {
            long teamRows = c * n;
            long ringLen = ranks / (c * c);
            Arrangement arrangement = c == 2 ? Arrangement.RINGS_ADJACENT : Arrangement.TEAMS_ADJACENT;
            var results = p.run(new WallFacer(c, arrangement), ranks);
            long teamForward = (c - 1) * n * (h + 2 * g) * B + (c - 1) * n * (h + lse) * B;
            long ringForward = (ringLen - 1) * teamRows * 2 * g * B;
            assertEquals((ranks - (long) c * c) * 128 * 2 * g * B / ((long) c * ranks), ringForward,
                    "ring part is (P - C^2)/(C P) of the sequence's K/V");
            long teamBackward = (c - 1) * n * (3 * h + 2 * g) * B + (c - 1) * n * lse * B + (c - 1) * n * (h + 2 * g) * B;
            long bundle = teamRows * (3 * h + lse) * B;
            long ringBackward = (ringLen - 1) * (bundle + teamRows * h * B);
            IntFunction<WallFacer.Seat> me = r -> WallFacer.Seat.of(r, ranks, c, arrangement);
            assertEachRank("wallfacer C=" + c, results, true,
                    r -> teamForward + ringForward + (me.apply(r).pos() != 0 ? teamRows * 2 * g * B : 0));
            assertEachRank("wallfacer C=" + c, results, false,
                    r -> teamBackward + ringBackward + (me.apply(r).pos() != 0 ? bundle : 0)
                            + (me.apply(r).pos() != 0 || ringLen > 1 ? teamRows * h * B : 0));
            long most = results.stream().mapToLong(x -> x.forward().traffic().bytesSent()).max().orElseThrow();
            if (c == 1) {
                ringBytes = most;
            } else {
                assertTrue(most < ringBytes, "C=" + c + " moves " + most + " bytes per rank, Ring " + ringBytes);
            }
        }
    }

    /**
     * Hybrid: Ulysses' all-to-alls inside groups of U over n tokens, then Ring over R = P/U groups
     * on U n tokens of Hkv/U heads: n 2g forward, plus R n 2g of fp32 dK/dV backward.
     */
    @Test
    void hybridMovesUlyssesInGroupsPlusRingAcrossThem() {
        int ranks = 8;
        int u = 2;
        int rings = ranks / u;
        ShardedProblem p = problem(128, 4, 2);
        long n = p.shape.localLen(ranks);
        long qBlock = n * (4 / u) * 64 * B;
        long kvBlock = n * (2 / u) * 64 * B;
        long lseBlock = n * (4 / u) * B;
        long kv = n * 2 * 2 * 64 * B;
        var results = p.run(new Hybrid(u), ranks);
        assertEachRank("hybrid", results, true, r -> (u - 1) * (2 * qBlock + 2 * kvBlock + lseBlock) + (rings - 1) * kv);
        assertEachRank("hybrid", results, false, r -> (u - 1) * (2 * qBlock + 2 * kvBlock) + (rings - 1) * kv + rings * kv);
    }
}
