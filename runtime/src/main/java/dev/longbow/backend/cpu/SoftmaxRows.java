package dev.longbow.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Row-wise pieces of the online softmax over a tile of scores, vectorised. */
final class SoftmaxRows {
    private static final VectorSpecies<Float> F = MicroGemm.F;
    private static final int L = MicroGemm.LANES;
    static final float LOG2_E = (float) (1 / Math.log(2));
    static final float LN_2 = (float) Math.log(2);

    private SoftmaxRows() {
    }

    /** The largest of {@code s[off .. off + n)}, n >= 1. */
    static float max(float[] s, int off, int n) {
        int j = 0;
        float m = Float.NEGATIVE_INFINITY;
        if (n >= L) {
            FloatVector acc = FloatVector.fromArray(F, s, off);
            for (j = L; j + L <= n; j += L) {
                acc = acc.max(FloatVector.fromArray(F, s, off + j));
            }
            m = acc.reduceLanes(VectorOperators.MAX);
        }
        for (; j < n; j++) {
            m = Math.max(m, s[off + j]);
        }
        return m;
    }

    /**
     * {@code s[j] = 2^(s[j] * c - shift)} for the {@code visible} first entries of the row and 0
     * for the rest up to {@code cols}; returns the sum of the row.
     */
    static float exp2Row(float[] s, int off, int visible, int cols, float c, float shift) {
        FloatVector sum = FloatVector.zero(F);
        int j = 0;
        for (; j + L <= visible; j += L) {
            FloatVector p = VectorExp.exp2(FloatVector.fromArray(F, s, off + j).fma(c, -shift));
            p.intoArray(s, off + j);
            sum = sum.add(p);
        }
        if (j < visible) {
            VectorMask<Float> inside = F.indexInRange(j, visible);
            FloatVector p = VectorExp.exp2(FloatVector.fromArray(F, s, off + j).fma(c, -shift))
                    .blend(0f, inside.not());
            p.intoArray(s, off + j);
            sum = sum.add(p);
            j += L;
        }
        for (; j < cols; j += L) {
            FloatVector.zero(F).intoArray(s, off + j);
        }
        return (float) CpuModelOps.sumLanes(sum);
    }

    /** {@code ds[j] = scale * p[j] * (ds[j] - delta)} over {@code [off, off + n)}, n a multiple of the lane count. */
    static void softmaxGradient(float[] p, float[] ds, int off, int n, float delta, float scale) {
        for (int j = 0; j < n; j += L) {
            FloatVector dp = FloatVector.fromArray(F, ds, off + j).sub(delta);
            FloatVector.fromArray(F, p, off + j).mul(scale).mul(dp).intoArray(ds, off + j);
        }
    }

    /** {@code s[off .. off + n) *= factor}, n a multiple of the lane count. */
    static void scale(float[] s, int off, int n, float factor) {
        for (int j = 0; j < n; j += L) {
            FloatVector.fromArray(F, s, off + j).mul(factor).intoArray(s, off + j);
        }
    }

    /** {@code 2^x} for one value. */
    static float exp2(float x) {
        return (float) Math.exp(x * Math.log(2));
    }
}
