package dev.longbow.backend.cpu;

import dev.longbow.tensor.DType;
import dev.longbow.tensor.Numerics;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Moves runs of elements between host tensors of any floating dtype and fp32 arrays, where all
 * of the backend's arithmetic happens. Index and count are in elements of the tensor.
 */
final class FloatRows {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private FloatRows() {
    }

    /** {@code dst[dstOff ..] = t[index .. index + n)} widened to fp32. */
    static void load(Tensor t, long index, float[] dst, int dstOff, int n) {
        MemorySegment s = t.data();
        switch (t.dtype()) {
            case F32 -> MemorySegment.copy(s, F32, index * 4, dst, dstOff, n);
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    dst[dstOff + i] = Float.intBitsToFloat(s.getAtIndex(I16, index + i) << 16);
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    dst[dstOff + i] = Float.float16ToFloat(s.getAtIndex(I16, index + i));
                }
            }
            case I32 -> throw notFloat(t);
        }
    }

    /** {@code t[index .. index + n) = src[srcOff ..]}, rounded to nearest even into t's dtype. */
    static void store(float[] src, int srcOff, Tensor t, long index, int n) {
        MemorySegment s = t.data();
        switch (t.dtype()) {
            case F32 -> MemorySegment.copy(src, srcOff, s, F32, index * 4, n);
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    s.setAtIndex(I16, index + i, Numerics.floatToBf16(src[srcOff + i]));
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    s.setAtIndex(I16, index + i, Float.floatToFloat16(src[srcOff + i]));
                }
            }
            case I32 -> throw notFloat(t);
        }
    }

    /** {@code t[index .. index + n) += src[srcOff ..]}; t is an fp32 accumulator. */
    static void add(float[] src, int srcOff, Tensor t, long index, int n) {
        t.requireDType(DType.F32);
        MemorySegment s = t.data();
        long base = index * 4;
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            long at = base + i * 4L;
            FloatVector.fromMemorySegment(F, s, at, ByteOrder.nativeOrder())
                    .add(FloatVector.fromArray(F, src, srcOff + i))
                    .intoMemorySegment(s, at, ByteOrder.nativeOrder());
        }
        for (; i < n; i++) {
            s.setAtIndex(F32, index + i, s.getAtIndex(F32, index + i) + src[srcOff + i]);
        }
    }

    private static IllegalArgumentException notFloat(Tensor t) {
        return new IllegalArgumentException("expected a floating-point tensor (F32, BF16, F16), got " + t);
    }
}
