package dev.longbow.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The one matrix product of flash attention, {@code C[m][n] (+)= sum_k A(m, k) B[k][n]}, on fp32
 * arrays. Every product of the forward and backward pass (S = Q K^T, O += P V, dP = dO V^T,
 * dV += P^T dO, dK += dS^T Q, dQ += dS K) is this one with A read through two strides, so
 * transposing A costs nothing; B is packed so that its rows are contiguous.
 *
 * <p>Register blocking: four rows of C by two vectors of columns stay in eight accumulators while
 * k runs, each step loading two vectors of B and broadcasting four elements of A (eight FMAs per
 * six loads). {@code n} must be a multiple of {@link #WIDTH}; callers pad B and C to it.
 */
final class MicroGemm {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int LANES = F.length();
    /** Columns per register block: two vectors. */
    static final int WIDTH = 2 * LANES;

    private MicroGemm() {
    }

    /**
     * A(m, k) is {@code a[aOff + m * aRow + k * aCol]}, B[k][n] is {@code b[bOff + k * ldb + n]},
     * C[m][n] is {@code c[cOff + m * ldc + n]}.
     *
     * @param accumulate add to C, or overwrite it
     */
    static void multiply(int m, int n, int k, float[] a, int aOff, int aRow, int aCol,
                         float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, boolean accumulate) {
        for (int col = 0; col < n; col += WIDTH) {
            int row = 0;
            for (; row + 4 <= m; row += 4) {
                block4(k, a, aOff + row * aRow, aRow, aCol, b, bOff + col, ldb, c, cOff + row * ldc + col, ldc, accumulate);
            }
            for (; row < m; row++) {
                block1(k, a, aOff + row * aRow, aCol, b, bOff + col, ldb, c, cOff + row * ldc + col, accumulate);
            }
        }
    }

    private static void block4(int k, float[] a, int ai, int aRow, int aCol, float[] b, int bi, int ldb,
                               float[] c, int ci, int ldc, boolean accumulate) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31;
        if (accumulate) {
            c00 = FloatVector.fromArray(F, c, ci);
            c01 = FloatVector.fromArray(F, c, ci + LANES);
            c10 = FloatVector.fromArray(F, c, ci + ldc);
            c11 = FloatVector.fromArray(F, c, ci + ldc + LANES);
            c20 = FloatVector.fromArray(F, c, ci + 2 * ldc);
            c21 = FloatVector.fromArray(F, c, ci + 2 * ldc + LANES);
            c30 = FloatVector.fromArray(F, c, ci + 3 * ldc);
            c31 = FloatVector.fromArray(F, c, ci + 3 * ldc + LANES);
        } else {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = FloatVector.zero(F);
        }
        for (int p = 0; p < k; p++, ai += aCol, bi += ldb) {
            FloatVector b0 = FloatVector.fromArray(F, b, bi);
            FloatVector b1 = FloatVector.fromArray(F, b, bi + LANES);
            FloatVector a0 = FloatVector.broadcast(F, a[ai]);
            c00 = a0.fma(b0, c00);
            c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(F, a[ai + aRow]);
            c10 = a1.fma(b0, c10);
            c11 = a1.fma(b1, c11);
            FloatVector a2 = FloatVector.broadcast(F, a[ai + 2 * aRow]);
            c20 = a2.fma(b0, c20);
            c21 = a2.fma(b1, c21);
            FloatVector a3 = FloatVector.broadcast(F, a[ai + 3 * aRow]);
            c30 = a3.fma(b0, c30);
            c31 = a3.fma(b1, c31);
        }
        c00.intoArray(c, ci);
        c01.intoArray(c, ci + LANES);
        c10.intoArray(c, ci + ldc);
        c11.intoArray(c, ci + ldc + LANES);
        c20.intoArray(c, ci + 2 * ldc);
        c21.intoArray(c, ci + 2 * ldc + LANES);
        c30.intoArray(c, ci + 3 * ldc);
        c31.intoArray(c, ci + 3 * ldc + LANES);
    }

    private static void block1(int k, float[] a, int ai, int aCol, float[] b, int bi, int ldb,
                               float[] c, int ci, boolean accumulate) {
        FloatVector c0 = accumulate ? FloatVector.fromArray(F, c, ci) : FloatVector.zero(F);
        FloatVector c1 = accumulate ? FloatVector.fromArray(F, c, ci + LANES) : FloatVector.zero(F);
        for (int p = 0; p < k; p++, ai += aCol, bi += ldb) {
            FloatVector a0 = FloatVector.broadcast(F, a[ai]);
            c0 = a0.fma(FloatVector.fromArray(F, b, bi), c0);
            c1 = a0.fma(FloatVector.fromArray(F, b, bi + LANES), c1);
        }
        c0.intoArray(c, ci);
        c1.intoArray(c, ci + LANES);
    }
}
