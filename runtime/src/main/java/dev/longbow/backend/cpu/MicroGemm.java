package dev.longbow.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The one matrix product of flash attention, {@code C[m][n] (+)= sum_k A(m, k) B[k][n]}, on fp32
 * arrays. Every product of the forward and backward pass (S = Q K^T, O += P V, dP = dO V^T,
 * dV += P^T dO, dK += dS^T Q, dQ += dS K) is this one with A read through two strides, so
 * transposing A costs nothing; B is packed so that its rows are contiguous.
 *
 * <p>Register blocking: four rows of C by three vectors of columns stay in twelve accumulators
 * while k runs; each step loads three vectors of B and broadcasts four elements of A for twelve
 * FMAs. With the broadcast register that is all sixteen AVX2 registers; a fourth column vector
 * would spill (measured: half the speed). Column panels left over take two or one vector, rows
 * left over one row at a time. {@code n} must be a multiple of {@link #LANES}.
 */
final class MicroGemm {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int LANES = F.length();

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
        int col = 0;
        for (; col + 3 * LANES <= n; col += 3 * LANES) {
            for (int row = 0; row + 4 <= m; row += 4) {
                block4x3(k, a, aOff + row * aRow, aRow, aCol, b, bOff + col, ldb, c, cOff + row * ldc + col, ldc, accumulate);
            }
        }
        if (col + 2 * LANES <= n) {
            for (int row = 0; row + 4 <= m; row += 4) {
                block4x2(k, a, aOff + row * aRow, aRow, aCol, b, bOff + col, ldb, c, cOff + row * ldc + col, ldc, accumulate);
            }
            col += 2 * LANES;
        }
        if (col < n) {
            for (int row = 0; row + 4 <= m; row += 4) {
                block4x1(k, a, aOff + row * aRow, aRow, aCol, b, bOff + col, ldb, c, cOff + row * ldc + col, ldc, accumulate);
            }
        }
        for (int row = m & ~3; row < m; row++) {
            for (int v = 0; v < n; v += LANES) {
                block1x1(k, a, aOff + row * aRow, aCol, b, bOff + v, ldb, c, cOff + row * ldc + v, accumulate);
            }
        }
    }

    private static void block4x3(int k, float[] a, int ai, int aRow, int aCol, float[] b, int bi, int ldb,
                                 float[] c, int ci, int ldc, boolean accumulate) {
        int c1 = ci + ldc;
        int c2 = ci + 2 * ldc;
        int c3 = ci + 3 * ldc;
        FloatVector r00 = load(c, ci, accumulate);
        FloatVector r01 = load(c, ci + LANES, accumulate);
        FloatVector r02 = load(c, ci + 2 * LANES, accumulate);
        FloatVector r10 = load(c, c1, accumulate);
        FloatVector r11 = load(c, c1 + LANES, accumulate);
        FloatVector r12 = load(c, c1 + 2 * LANES, accumulate);
        FloatVector r20 = load(c, c2, accumulate);
        FloatVector r21 = load(c, c2 + LANES, accumulate);
        FloatVector r22 = load(c, c2 + 2 * LANES, accumulate);
        FloatVector r30 = load(c, c3, accumulate);
        FloatVector r31 = load(c, c3 + LANES, accumulate);
        FloatVector r32 = load(c, c3 + 2 * LANES, accumulate);
        for (int p = 0; p < k; p++, ai += aCol, bi += ldb) {
            FloatVector b0 = FloatVector.fromArray(F, b, bi);
            FloatVector b1 = FloatVector.fromArray(F, b, bi + LANES);
            FloatVector b2 = FloatVector.fromArray(F, b, bi + 2 * LANES);
            FloatVector x = FloatVector.broadcast(F, a[ai]);
            r00 = x.fma(b0, r00);
            r01 = x.fma(b1, r01);
            r02 = x.fma(b2, r02);
            x = FloatVector.broadcast(F, a[ai + aRow]);
            r10 = x.fma(b0, r10);
            r11 = x.fma(b1, r11);
            r12 = x.fma(b2, r12);
            x = FloatVector.broadcast(F, a[ai + 2 * aRow]);
            r20 = x.fma(b0, r20);
            r21 = x.fma(b1, r21);
            r22 = x.fma(b2, r22);
            x = FloatVector.broadcast(F, a[ai + 3 * aRow]);
            r30 = x.fma(b0, r30);
            r31 = x.fma(b1, r31);
            r32 = x.fma(b2, r32);
        }
        r00.intoArray(c, ci);
        r01.intoArray(c, ci + LANES);
        r02.intoArray(c, ci + 2 * LANES);
        r10.intoArray(c, c1);
        r11.intoArray(c, c1 + LANES);
        r12.intoArray(c, c1 + 2 * LANES);
        r20.intoArray(c, c2);
        r21.intoArray(c, c2 + LANES);
        r22.intoArray(c, c2 + 2 * LANES);
        r30.intoArray(c, c3);
        r31.intoArray(c, c3 + LANES);
        r32.intoArray(c, c3 + 2 * LANES);
    }

    private static void block4x2(int k, float[] a, int ai, int aRow, int aCol, float[] b, int bi, int ldb,
                                 float[] c, int ci, int ldc, boolean accumulate) {
        int c1 = ci + ldc;
        int c2 = ci + 2 * ldc;
        int c3 = ci + 3 * ldc;
        FloatVector r00 = load(c, ci, accumulate);
        FloatVector r01 = load(c, ci + LANES, accumulate);
        FloatVector r10 = load(c, c1, accumulate);
        FloatVector r11 = load(c, c1 + LANES, accumulate);
        FloatVector r20 = load(c, c2, accumulate);
        FloatVector r21 = load(c, c2 + LANES, accumulate);
        FloatVector r30 = load(c, c3, accumulate);
        FloatVector r31 = load(c, c3 + LANES, accumulate);
        for (int p = 0; p < k; p++, ai += aCol, bi += ldb) {
            FloatVector b0 = FloatVector.fromArray(F, b, bi);
            FloatVector b1 = FloatVector.fromArray(F, b, bi + LANES);
            FloatVector x = FloatVector.broadcast(F, a[ai]);
            r00 = x.fma(b0, r00);
            r01 = x.fma(b1, r01);
            x = FloatVector.broadcast(F, a[ai + aRow]);
            r10 = x.fma(b0, r10);
            r11 = x.fma(b1, r11);
            x = FloatVector.broadcast(F, a[ai + 2 * aRow]);
            r20 = x.fma(b0, r20);
            r21 = x.fma(b1, r21);
            x = FloatVector.broadcast(F, a[ai + 3 * aRow]);
            r30 = x.fma(b0, r30);
            r31 = x.fma(b1, r31);
        }
        r00.intoArray(c, ci);
        r01.intoArray(c, ci + LANES);
        r10.intoArray(c, c1);
        r11.intoArray(c, c1 + LANES);
        r20.intoArray(c, c2);
        r21.intoArray(c, c2 + LANES);
        r30.intoArray(c, c3);
        r31.intoArray(c, c3 + LANES);
    }

    private static void block4x1(int k, float[] a, int ai, int aRow, int aCol, float[] b, int bi, int ldb,
                                 float[] c, int ci, int ldc, boolean accumulate) {
        FloatVector r0 = load(c, ci, accumulate);
        FloatVector r1 = load(c, ci + ldc, accumulate);
        FloatVector r2 = load(c, ci + 2 * ldc, accumulate);
        FloatVector r3 = load(c, ci + 3 * ldc, accumulate);
        for (int p = 0; p < k; p++, ai += aCol, bi += ldb) {
            FloatVector b0 = FloatVector.fromArray(F, b, bi);
            r0 = FloatVector.broadcast(F, a[ai]).fma(b0, r0);
            r1 = FloatVector.broadcast(F, a[ai + aRow]).fma(b0, r1);
            r2 = FloatVector.broadcast(F, a[ai + 2 * aRow]).fma(b0, r2);
            r3 = FloatVector.broadcast(F, a[ai + 3 * aRow]).fma(b0, r3);
        }
        r0.intoArray(c, ci);
        r1.intoArray(c, ci + ldc);
        r2.intoArray(c, ci + 2 * ldc);
        r3.intoArray(c, ci + 3 * ldc);
    }

    private static void block1x1(int k, float[] a, int ai, int aCol, float[] b, int bi, int ldb,
                                 float[] c, int ci, boolean accumulate) {
        FloatVector r = load(c, ci, accumulate);
        for (int p = 0; p < k; p++, ai += aCol, bi += ldb) {
            r = FloatVector.broadcast(F, a[ai]).fma(FloatVector.fromArray(F, b, bi), r);
        }
        r.intoArray(c, ci);
    }

    private static FloatVector load(float[] c, int at, boolean accumulate) {
        return accumulate ? FloatVector.fromArray(F, c, at) : FloatVector.zero(F);
    }
}
