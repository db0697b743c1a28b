package dev.longbow.plan;

import dev.longbow.parallel.AttentionCall;
import dev.longbow.parallel.AttentionShape;
import dev.longbow.parallel.Fpdt;
import dev.longbow.parallel.Ring;
import dev.longbow.parallel.Scheme;
import dev.longbow.parallel.Ulysses;
import dev.longbow.tensor.DType;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The pricer prices each attention call a scheme's schedule issues at the throughput of its shape. */
class AttentionRatesTest {
    /** S=1024, 8 heads of 64, on 2 CPU ranks whose copies are free. */
    private static final AttentionShape SHAPE = new AttentionShape(1024, 8, 8, 64, DType.F32, true);

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

        @Override
        public String describe() {
            return "half speed on the diagonal";
        }
    };

    private static SchedulePricer.Priced pass(Scheme scheme) {
        ClusterSpec cpu = ClusterSpec.cpu(2, 16 * ClusterSpec.GIB, 1e30, 0, 2e9, HALF_SPEED_DIAGONAL);
        return new SchedulePricer(cpu).price(scheme.schedule(2, SHAPE));
    }

    @Test
    void ringPricesItsDiagonalStepsCallsAtTheDiagonalRate() {
        // Zigzag chunks of S/4 = 256 tokens. Step 1: chunks (0,0) and (3,3) diagonal, (3,0) whole; step 2: two whole pairs.
        // A whole 256x256 call on 8 heads of 64: 4 * 256^2 * 8 * 64 = 134217728 FLOPs; each rank gets half the rate.
        double whole = 134217728;
        double forward = (2 * (whole / 2) / 0.5e9 + whole / 1e9) + 2 * whole / 1e9;
        assertEquals(0.67108864, forward, 1e-12);   // hand sum: 0.268435456 + 0.134217728 + 0.268435456
        assertEquals(forward, pass(new Ring()).forward().seconds(), 1e-9);
        double backward = 2.5 * ((2 * (whole / 2) / 0.25e9 + whole / 0.5e9) + 2 * whole / 0.5e9);
        assertEquals(3.3554432, backward, 1e-12);
        assertEquals(backward, pass(new Ring()).backward().seconds(), 1e-9);
    }

    @Test
    void ulyssesIssuesOneDiagonalCallOverTheWholeSequenceOnItsHeads() {
        // 4 * 1024^2 * 4 heads * 64 / 2 = 536870912 FLOPs at 1e9 / 2 ranks
        assertEquals(1.073741824, pass(new Ulysses()).forward().seconds(), 1e-9);
        assertEquals(2.5 * 536870912 / 0.25e9, pass(new Ulysses()).backward().seconds(), 1e-9);
    }

    @Test
    void fpdtPricesItsDiagonalChunkPairsApart() {
        // 2 chunks of 512 (256 tokens per rank) on 4 heads: pairs (0,0), (1,1) diagonal, (1,0) whole; 4 * 512^2 * 4 * 64 = 268435456 FLOPs whole
        double whole = 268435456;
        assertEquals(2 * (whole / 2) / 0.5e9 + whole / 1e9, pass(new Fpdt(256)).forward().seconds(), 1e-9);
    }

    @Test
    void measuredRatesFollowTheTableByCallSizeAndHoldAboveIt() {
        MeasuredRates h100 = MeasuredRates.H100_LONGBOW;
        // FlashBench's own sizes come back as measured: causal S x S on 16 heads of 128
        assertEquals(354.4e12, h100.forward(new AttentionCall(16384, 16384, 16, 16, 128, true)), 1e6);
        assertEquals(280.7e12, h100.backward(new AttentionCall(65536, 65536, 16, 16, 128, true)), 1e6);
        // an unmasked 8K x 16K call on 16 heads has the FLOPs of the causal 16K one (4 * 8192 * 16384 * 16 * 128 = 2 * 16384^2 * 128 * 16)
        assertEquals(354.4e12, h100.forward(new AttentionCall(8192, 16384, 16, 16, 128, false)), 1e6);
        // halfway between 4K and 16K in log FLOPs (x4 of 4K's): halfway between their rates
        assertEquals((311.5e12 + 354.4e12) / 2, h100.forward(new AttentionCall(8192, 8192, 16, 16, 128, true)), 1e6);
        // beyond the largest measured size the rate stays
        assertEquals(339.2e12, h100.forward(new AttentionCall(1 << 20, 1 << 20, 16, 16, 128, true)), 1e6);
    }

    @Test
    void aDiagonalCallIsSquare() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new AttentionCall(256, 512, 8, 8, 64, true));
        assertEquals("attention call 256 queries x 512 keys, 8/8 heads, dim 64, diagonal: sizes must be positive,"
                + " kv heads divide heads, and a diagonal block is square", e.getMessage());
    }
}
