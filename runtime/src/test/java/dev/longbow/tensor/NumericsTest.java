package dev.longbow.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class NumericsTest {

    @Test
    void bf16RoundsToNearestEven() {
        // bf16 keeps 7 fraction bits: around 1.0 the spacing is 2^-7.
        float halfway = 1f + 0x1p-8f;             // between 1 and 1+2^-7: ties to the even 1.0
        float aboveHalf = 1f + 0x1p-8f + 0x1p-20f;
        float oddTie = 1f + 3 * 0x1p-8f;          // between 1+2^-7 (odd) and 1+2^-6: ties up to even
        assertEquals(1f, Numerics.roundTo(DType.BF16, halfway));
        assertEquals(1f + 0x1p-7f, Numerics.roundTo(DType.BF16, aboveHalf));
        assertEquals(1f + 0x1p-6f, Numerics.roundTo(DType.BF16, oddTie));
        assertEquals(-2.5f, Numerics.roundTo(DType.BF16, -2.5f));
    }

    @Test
    void bf16KeepsInfinitiesAndNaN() {
        assertEquals(Float.POSITIVE_INFINITY, Numerics.roundTo(DType.BF16, Float.POSITIVE_INFINITY));
        assertEquals(Float.NEGATIVE_INFINITY, Numerics.roundTo(DType.BF16, Float.NEGATIVE_INFINITY));
        assertTrue(Float.isNaN(Numerics.roundTo(DType.BF16, Float.NaN)));
        // The largest finite float rounds up past bf16's largest finite value.
        assertEquals(Float.POSITIVE_INFINITY, Numerics.roundTo(DType.BF16, Float.MAX_VALUE));
    }

    @Test
    void bf16RelativeErrorIsAtMostHalfAnUlp() {
        var rnd = new java.util.Random(7);
        for (int i = 0; i < 100_000; i++) {
            float x = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(20) - 10));
            float r = Numerics.roundTo(DType.BF16, x);
            assertTrue(Math.abs(r - x) <= Math.abs(x) * 0x1p-8f, () -> x + " -> " + r);
        }
    }
}
