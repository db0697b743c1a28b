package dev.longbow.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** The backward pass's row-wise softmax pieces over a {@code queries x keys} tile, vectorised. */
final class SoftmaxRows {
    private static final VectorSpecies<Float> F = MicroGemm.F;
    private static final int L = MicroGemm.LANES;
    static final float LOG2_E = (float) (1 / Math.log(2));
    static final float LN_2 = (float) Math.log(2);

    private SoftmaxRows() {
    }

    /**
     * {@code s[j] = 2^(s[j] * c - shift)} for the {@code visible} first entries of the row and 0
     * for the rest up to {@code cols}, a multiple of the lane count.
     */
    static void probabilities(float[] s, int off, int visible, int cols, float c, float shift) {
        for (int j = 0; j < cols; j += L) {
            FloatVector p = VectorExp.exp2(FloatVector.fromArray(F, s, off + j).fma(c, -shift));
            p.blend(0f, F.indexInRange(j, visible).not()).intoArray(s, off + j);
        }
    }

    /** {@code ds[j] = scale * p[j] * (ds[j] - delta)} over {@code [off, off + n)}, n a multiple of the lane count. */
    static void softmaxGradient(float[] p, float[] ds, int off, int n, float delta, float scale) {
        for (int j = 0; j < n; j += L) {
            FloatVector dp = FloatVector.fromArray(F, ds, off + j).sub(delta);
            FloatVector.fromArray(F, p, off + j).mul(scale).mul(dp).intoArray(ds, off + j);
        }
    }
}
