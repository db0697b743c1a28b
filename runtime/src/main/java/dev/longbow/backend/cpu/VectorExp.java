package dev.longbow.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * {@code 2^x} on fp32 lanes in a dozen vector instructions, for the softmax (flash attention
 * works in base 2 with log2(e) folded into the score scale).
 *
 * <p>Splits {@code x = n + f} with n the nearest integer and {@code |f| <= 1/2}; {@code 2^f} is
 * the degree-6 Taylor polynomial of {@code e^(f ln 2)} (truncation error below 1.3e-7 relative),
 * and {@code 2^n} is added into the exponent bits. Inputs below -126 (and -infinity) give 0,
 * which is what masked scores need; inputs are at most 8 in the softmax (the forward's lazy
 * running max), far below 128, where 2^n would leave the exponent field.
 */
final class VectorExp {
    /** 1.5 * 2^23: adding it rounds a float to an integer held in the low mantissa bits. */
    private static final float ROUNDER = 0x1.8p23f;
    private static final float LOWEST = -126f;
    private static final float C1 = 0.6931471805599453f;
    private static final float C2 = 0.2402265069591007f;
    private static final float C3 = 0.05550410866482158f;
    private static final float C4 = 0.009618129107628477f;
    private static final float C5 = 0.0013333558146428443f;
    private static final float C6 = 1.5403530393381609e-4f;

    private VectorExp() {
    }

    static FloatVector exp2(FloatVector x) {
        FloatVector clamped = x.max(LOWEST);
        FloatVector shifted = clamped.add(ROUNDER);
        FloatVector f = clamped.sub(shifted.sub(ROUNDER));
        FloatVector p = f.fma(C6, C5);
        p = p.fma(f, f.broadcast(C4));
        p = p.fma(f, f.broadcast(C3));
        p = p.fma(f, f.broadcast(C2));
        p = p.fma(f, f.broadcast(C1));
        p = p.fma(f, f.broadcast(1f));
        // The rounded integer n sits in the low bits of shifted; << 23 moves it into the exponent
        // field and pushes the rounder's own bits out of the word.
        IntVector scaled = p.reinterpretAsInts().add(shifted.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23));
        // Zero below LOWEST: x - LOWEST is negative there, its sign bit spread over the lane clears
        // the result. Integer lanewise operations, not blend(0f, compare(...)): inside a large
        // caller C2 has been seen to leave that blend out of line, boxed and a hundred times slower.
        IntVector below = x.sub(LOWEST).reinterpretAsInts().lanewise(VectorOperators.ASHR, 31);
        return scaled.lanewise(VectorOperators.AND_NOT, below).reinterpretAsFloats();
    }
}
