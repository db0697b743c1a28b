package dev.longbow.plan;

import dev.longbow.parallel.Fpdt;
import dev.longbow.parallel.Ring;
import dev.longbow.parallel.Scheme;
import dev.longbow.parallel.Ulysses;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The cost model prices each attention call a scheme issues at the throughput of its shape. */
class AttentionRatesTest {
    /** S=1024, 8 heads of 64, on 2 CPU ranks whose copies are free. */
    private static final ModelShape SHAPE = new ModelShape("t", 1, 512, 8, 8, 2048, 2, 1);
    private static final long S = 1024;

    /** Whole blocks at 2 GFLOP/s forward and 1 backward, diagonal blocks at half that, whatever their size. */
    private static final AttentionRates HALF_SPEED_DIAGONAL = new AttentionRates() {
        @Override
        public double forward(AttentionCall call) {
            return call.diagonal() ? 1e9 : 2e9;
        }

        @Override
        public double backward(AttentionCall call) {
            return call.diagonal() ? 0.5e9 : 1e9;
        }
    };

    private static CostModel.AttentionPass pass(Scheme scheme) {
        ClusterSpec cpu = ClusterSpec.cpu(2, 16 * ClusterSpec.GIB, 1e30, 0, 2e9, 2e9, 1e9, HALF_SPEED_DIAGONAL);
        return new CostModel(SHAPE, S, true, cpu).attentionPass(scheme);
    }

    @Test
    void ringPricesItsDiagonalStepsCallsAtTheDiagonalRate() {
        // Zigzag chunks of S/4 = 256 tokens. Step 1: chunks (0,0) and (3,3) diagonal, (3,0) whole; step 2: two whole pairs.
        // A whole 256x256 call on 8 heads of 64: 4 * 256^2 * 8 * 64 = 134217728 FLOPs; each rank gets half the rate.
        double whole = 134217728;
        double forward = (2 * (whole / 2) / 0.5e9 + whole / 1e9) + 2 * whole / 1e9;
        assertEquals(0.67108864, forward, 1e-12);   // hand sum: 0.268435456 + 0.134217728 + 0.268435456
        assertEquals(forward, pass(new Ring()).forwardSeconds(), 1e-9);
        double backward = 2.5 * ((2 * (whole / 2) / 0.25e9 + whole / 0.5e9) + 2 * whole / 0.5e9);
        assertEquals(3.3554432, backward, 1e-12);
        assertEquals(backward, pass(new Ring()).backwardSeconds(), 1e-9);
    }

    @Test
    void ulyssesIssuesOneDiagonalCallOverTheWholeSequenceOnItsHeads() {
        // 4 * 1024^2 * 4 heads * 64 / 2 = 536870912 FLOPs at 1e9 / 2 ranks
        assertEquals(1.073741824, pass(new Ulysses()).forwardSeconds(), 1e-9);
        assertEquals(2.5 * 536870912 / 0.25e9, pass(new Ulysses()).backwardSeconds(), 1e-9);
    }

    @Test
    void fpdtPricesItsDiagonalChunkPairsApart() {
        // 2 chunks of 512 (256 tokens per rank) on 4 heads: pairs (0,0), (1,1) diagonal, (1,0) whole; 4 * 512^2 * 4 * 64 = 268435456 FLOPs whole
        double whole = 268435456;
        assertEquals(2 * (whole / 2) / 0.5e9 + whole / 1e9, pass(new Fpdt(256)).forwardSeconds(), 1e-9);
    }

    @Test
    void aDiagonalCallIsSquare() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new AttentionCall(256, 512, 8, 8, 64, true));
        assertEquals("attention call 256 queries x 512 keys, 8/8 heads, dim 64, diagonal: sizes must be positive,"
                + " kv heads divide heads, and a diagonal block is square", e.getMessage());
    }
}
