package dev.longbow.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The one matrix product of flash attention, {@code C[m][n] (+)= sum_k A(m, k) B[k][n]}, on fp32
 * arrays. Every product of the forward and backward pass (S = Q K^T, O += P V, dP = dO V^T,
 * dV += P^T dO, dK += dS^T Q, dQ += dS K) is this one with A read through two strides, so
 * transposing A costs nothing; B is packed so that its rows are contiguous.
 *
 * <p>Register blocking ({@link Blocking}): R rows of C by three vectors of columns stay in 3R
 * accumulators while k runs; each step loads three vectors of B and broadcasts R elements of A.
 * With 16 vector registers (AVX2) that is four rows, twelve accumulators and all sixteen registers
 * (a fourth column vector spills: half the speed). With 32 (AVX-512) it is eight rows, 24
 * accumulators and 28 registers: the three B loads and the loop's index arithmetic and bounds
 * checks, a fixed cost per k step, are spread over 24 FMAs instead of 12 (measured on Zen 5, 16
 * lanes, interleaved in one JVM: the S = 4096, D = 64 causal forward 87.6 against 71.8 GFLOP/s per
 * CPU-second). Column panels left over take two vectors or one, rows left over four or one at a
 * time. Four vectors of columns (n = 64 at 16 lanes: the D = 64 backward's dQ) take, with 32
 * registers, six rows by four vectors (24 accumulators, four B loads and six broadcasts a step)
 * rather than two panels of eight rows by two (the S = 4096 product 64 x 64 x 192, one thread:
 * 178 against 135 GFLOP/s); with 16, two and two. Every block sums k in the same order, so the
 * blocking never changes a result. {@code n} must be a multiple of {@link #LANES}.
 * Reference: {@code KernelsTest} against float64, each blocking; speed: {@code CpuAttentionBenchmark}.
 */
final class MicroGemm {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int LANES = F.length();

    /** Rows of C per register block, from the register count of the species. */
    enum Blocking {
        FOUR_ROWS(4), EIGHT_ROWS(8);

        /** 512-bit vectors come with 32 registers (AVX-512); narrower species here with 16. */
        static final Blocking PREFERRED = F.vectorBitSize() >= 512 ? EIGHT_ROWS : FOUR_ROWS;

        final int rows;

        Blocking(int rows) {
            this.rows = rows;
        }
    }

    private MicroGemm() {
    }

    /**
     * A(m, k) is {@code a[aOff + m * aRow + k * aCol]}, B[k][n] is {@code b[bOff + k * ldb + n]},
     * C[m][n] is {@code c[cOff + m * ldc + n]}.
     *
     * @param accumulate add to C, or overwrite it
     */
    static void multiply(Blocking blocking, int m, int n, int k, float[] a, int aOff, int aRow, int aCol,
                         float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, boolean accumulate) {
        boolean eight = blocking == Blocking.EIGHT_ROWS;
        for (int col = 0; col < n; ) {
            int vectors = (n - col) / LANES;
            // Three vectors wide where they fit, but four as two and two, or, with 32 registers, as one six-row panel.
            int width = vectors == 4 ? (eight ? 4 : 2) : Math.min(vectors, 3);
            int bi = bOff + col, ci = cOff + col;
            int row = 0;
            if (width == 4) {
                for (; row + 6 <= m; row += 6) {
                    block6x4(k, a, aOff + row * aRow, aRow, aCol, b, bi, ldb, c, ci + row * ldc, ldc, accumulate);
                }
                // Up to five rows are left: they take the two-vector blocks below, on both halves.
                for (int half = 0; half < 2; half++) {
                    panelRows(Blocking.FOUR_ROWS, 2, row, m, k, a, aOff, aRow, aCol, b, bi + half * 2 * LANES, ldb, c, ci + half * 2 * LANES, ldc, accumulate);
                }
            } else {
                panelRows(blocking, width, row, m, k, a, aOff, aRow, aCol, b, bi, ldb, c, ci, ldc, accumulate);
            }
            col += width * LANES;
        }
    }

    /** Rows {@code [row, m)} of one panel {@code width} vectors wide: eight, then four, then one at a time. */
    private static void panelRows(Blocking blocking, int width, int row, int m, int k, float[] a, int aOff, int aRow, int aCol,
                                  float[] b, int bi, int ldb, float[] c, int ci, int ldc, boolean accumulate) {
        for (; blocking == Blocking.EIGHT_ROWS && width > 1 && row + 8 <= m; row += 8) {
            int ai = aOff + row * aRow, at = ci + row * ldc;
            if (width == 3) {
                block8x3(k, a, ai, aRow, aCol, b, bi, ldb, c, at, ldc, accumulate);
            } else {
                block8x2(k, a, ai, aRow, aCol, b, bi, ldb, c, at, ldc, accumulate);
            }
        }
        for (; row + 4 <= m; row += 4) {
            int ai = aOff + row * aRow, at = ci + row * ldc;
            switch (width) {
                case 3 -> block4x3(k, a, ai, aRow, aCol, b, bi, ldb, c, at, ldc, accumulate);
                case 2 -> block4x2(k, a, ai, aRow, aCol, b, bi, ldb, c, at, ldc, accumulate);
                default -> block4x1(k, a, ai, aRow, aCol, b, bi, ldb, c, at, ldc, accumulate);
            }
        }
        for (; row < m; row++) {
            for (int v = 0; v < width * LANES; v += LANES) {
                block1x1(k, a, aOff + row * aRow, aCol, b, bi + v, ldb, c, ci + row * ldc + v, accumulate);
            }
        }
    }

    private static void block8x3(int k, float[] a, int ai, int aRow, int aCol, float[] b, int bi, int ldb,
                                 float[] c, int ci, int ldc, boolean accumulate) {
        FloatVector r00 = load(c, ci, accumulate);
        FloatVector r01 = load(c, ci + LANES, accumulate);
        FloatVector r02 = load(c, ci + 2 * LANES, accumulate);
        FloatVector r10 = load(c, ci + 1 * ldc, accumulate);
        FloatVector r11 = load(c, ci + 1 * ldc + LANES, accumulate);
        FloatVector r12 = load(c, ci + 1 * ldc + 2 * LANES, accumulate);
        FloatVector r20 = load(c, ci + 2 * ldc, accumulate);
        FloatVector r21 = load(c, ci + 2 * ldc + LANES, accumulate);
        FloatVector r22 = load(c, ci + 2 * ldc + 2 * LANES, accumulate);
        FloatVector r30 = load(c, ci + 3 * ldc, accumulate);
        FloatVector r31 = load(c, ci + 3 * ldc + LANES, accumulate);
        FloatVector r32 = load(c, ci + 3 * ldc + 2 * LANES, accumulate);
        FloatVector r40 = load(c, ci + 4 * ldc, accumulate);
        FloatVector r41 = load(c, ci + 4 * ldc + LANES, accumulate);
        FloatVector r42 = load(c, ci + 4 * ldc + 2 * LANES, accumulate);
        FloatVector r50 = load(c, ci + 5 * ldc, accumulate);
        FloatVector r51 = load(c, ci + 5 * ldc + LANES, accumulate);
        FloatVector r52 = load(c, ci + 5 * ldc + 2 * LANES, accumulate);
        FloatVector r60 = load(c, ci + 6 * ldc, accumulate);
        FloatVector r61 = load(c, ci + 6 * ldc + LANES, accumulate);
        FloatVector r62 = load(c, ci + 6 * ldc + 2 * LANES, accumulate);
        FloatVector r70 = load(c, ci + 7 * ldc, accumulate);
        FloatVector r71 = load(c, ci + 7 * ldc + LANES, accumulate);
        FloatVector r72 = load(c, ci + 7 * ldc + 2 * LANES, accumulate);
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
            x = FloatVector.broadcast(F, a[ai + 4 * aRow]);
            r40 = x.fma(b0, r40);
            r41 = x.fma(b1, r41);
            r42 = x.fma(b2, r42);
            x = FloatVector.broadcast(F, a[ai + 5 * aRow]);
            r50 = x.fma(b0, r50);
            r51 = x.fma(b1, r51);
            r52 = x.fma(b2, r52);
            x = FloatVector.broadcast(F, a[ai + 6 * aRow]);
            r60 = x.fma(b0, r60);
            r61 = x.fma(b1, r61);
            r62 = x.fma(b2, r62);
            x = FloatVector.broadcast(F, a[ai + 7 * aRow]);
            r70 = x.fma(b0, r70);
            r71 = x.fma(b1, r71);
            r72 = x.fma(b2, r72);
        }
        r00.intoArray(c, ci);
        r01.intoArray(c, ci + LANES);
        r02.intoArray(c, ci + 2 * LANES);
        r10.intoArray(c, ci + 1 * ldc);
        r11.intoArray(c, ci + 1 * ldc + LANES);
        r12.intoArray(c, ci + 1 * ldc + 2 * LANES);
        r20.intoArray(c, ci + 2 * ldc);
        r21.intoArray(c, ci + 2 * ldc + LANES);
        r22.intoArray(c, ci + 2 * ldc + 2 * LANES);
        r30.intoArray(c, ci + 3 * ldc);
        r31.intoArray(c, ci + 3 * ldc + LANES);
        r32.intoArray(c, ci + 3 * ldc + 2 * LANES);
        r40.intoArray(c, ci + 4 * ldc);
        r41.intoArray(c, ci + 4 * ldc + LANES);
        r42.intoArray(c, ci + 4 * ldc + 2 * LANES);
        r50.intoArray(c, ci + 5 * ldc);
        r51.intoArray(c, ci + 5 * ldc + LANES);
        r52.intoArray(c, ci + 5 * ldc + 2 * LANES);
        r60.intoArray(c, ci + 6 * ldc);
        r61.intoArray(c, ci + 6 * ldc + LANES);
        r62.intoArray(c, ci + 6 * ldc + 2 * LANES);
        r70.intoArray(c, ci + 7 * ldc);
        r71.intoArray(c, ci + 7 * ldc + LANES);
        r72.intoArray(c, ci + 7 * ldc + 2 * LANES);
    }

    private static void block6x4(int k, float[] a, int ai, int aRow, int aCol, float[] b, int bi, int ldb,
                                 float[] c, int ci, int ldc, boolean accumulate) {
        FloatVector r00 = load(c, ci, accumulate);
        FloatVector r01 = load(c, ci + LANES, accumulate);
        FloatVector r02 = load(c, ci + 2 * LANES, accumulate);
        FloatVector r03 = load(c, ci + 3 * LANES, accumulate);
        FloatVector r10 = load(c, ci + 1 * ldc, accumulate);
        FloatVector r11 = load(c, ci + 1 * ldc + LANES, accumulate);
        FloatVector r12 = load(c, ci + 1 * ldc + 2 * LANES, accumulate);
        FloatVector r13 = load(c, ci + 1 * ldc + 3 * LANES, accumulate);
        FloatVector r20 = load(c, ci + 2 * ldc, accumulate);
        FloatVector r21 = load(c, ci + 2 * ldc + LANES, accumulate);
        FloatVector r22 = load(c, ci + 2 * ldc + 2 * LANES, accumulate);
        FloatVector r23 = load(c, ci + 2 * ldc + 3 * LANES, accumulate);
        FloatVector r30 = load(c, ci + 3 * ldc, accumulate);
        FloatVector r31 = load(c, ci + 3 * ldc + LANES, accumulate);
        FloatVector r32 = load(c, ci + 3 * ldc + 2 * LANES, accumulate);
        FloatVector r33 = load(c, ci + 3 * ldc + 3 * LANES, accumulate);
        FloatVector r40 = load(c, ci + 4 * ldc, accumulate);
        FloatVector r41 = load(c, ci + 4 * ldc + LANES, accumulate);
        FloatVector r42 = load(c, ci + 4 * ldc + 2 * LANES, accumulate);
        FloatVector r43 = load(c, ci + 4 * ldc + 3 * LANES, accumulate);
        FloatVector r50 = load(c, ci + 5 * ldc, accumulate);
        FloatVector r51 = load(c, ci + 5 * ldc + LANES, accumulate);
        FloatVector r52 = load(c, ci + 5 * ldc + 2 * LANES, accumulate);
        FloatVector r53 = load(c, ci + 5 * ldc + 3 * LANES, accumulate);
        for (int p = 0; p < k; p++, ai += aCol, bi += ldb) {
            FloatVector b0 = FloatVector.fromArray(F, b, bi);
            FloatVector b1 = FloatVector.fromArray(F, b, bi + LANES);
            FloatVector b2 = FloatVector.fromArray(F, b, bi + 2 * LANES);
            FloatVector b3 = FloatVector.fromArray(F, b, bi + 3 * LANES);
            FloatVector x = FloatVector.broadcast(F, a[ai]);
            r00 = x.fma(b0, r00);
            r01 = x.fma(b1, r01);
            r02 = x.fma(b2, r02);
            r03 = x.fma(b3, r03);
            x = FloatVector.broadcast(F, a[ai + aRow]);
            r10 = x.fma(b0, r10);
            r11 = x.fma(b1, r11);
            r12 = x.fma(b2, r12);
            r13 = x.fma(b3, r13);
            x = FloatVector.broadcast(F, a[ai + 2 * aRow]);
            r20 = x.fma(b0, r20);
            r21 = x.fma(b1, r21);
            r22 = x.fma(b2, r22);
            r23 = x.fma(b3, r23);
            x = FloatVector.broadcast(F, a[ai + 3 * aRow]);
            r30 = x.fma(b0, r30);
            r31 = x.fma(b1, r31);
            r32 = x.fma(b2, r32);
            r33 = x.fma(b3, r33);
            x = FloatVector.broadcast(F, a[ai + 4 * aRow]);
            r40 = x.fma(b0, r40);
            r41 = x.fma(b1, r41);
            r42 = x.fma(b2, r42);
            r43 = x.fma(b3, r43);
            x = FloatVector.broadcast(F, a[ai + 5 * aRow]);
            r50 = x.fma(b0, r50);
            r51 = x.fma(b1, r51);
            r52 = x.fma(b2, r52);
            r53 = x.fma(b3, r53);
        }
        r00.intoArray(c, ci);
        r01.intoArray(c, ci + LANES);
        r02.intoArray(c, ci + 2 * LANES);
        r03.intoArray(c, ci + 3 * LANES);
        r10.intoArray(c, ci + 1 * ldc);
        r11.intoArray(c, ci + 1 * ldc + LANES);
        r12.intoArray(c, ci + 1 * ldc + 2 * LANES);
        r13.intoArray(c, ci + 1 * ldc + 3 * LANES);
        r20.intoArray(c, ci + 2 * ldc);
        r21.intoArray(c, ci + 2 * ldc + LANES);
        r22.intoArray(c, ci + 2 * ldc + 2 * LANES);
        r23.intoArray(c, ci + 2 * ldc + 3 * LANES);
        r30.intoArray(c, ci + 3 * ldc);
        r31.intoArray(c, ci + 3 * ldc + LANES);
        r32.intoArray(c, ci + 3 * ldc + 2 * LANES);
        r33.intoArray(c, ci + 3 * ldc + 3 * LANES);
        r40.intoArray(c, ci + 4 * ldc);
        r41.intoArray(c, ci + 4 * ldc + LANES);
        r42.intoArray(c, ci + 4 * ldc + 2 * LANES);
        r43.intoArray(c, ci + 4 * ldc + 3 * LANES);
        r50.intoArray(c, ci + 5 * ldc);
        r51.intoArray(c, ci + 5 * ldc + LANES);
        r52.intoArray(c, ci + 5 * ldc + 2 * LANES);
        r53.intoArray(c, ci + 5 * ldc + 3 * LANES);
    }

    private static void block8x2(int k, float[] a, int ai, int aRow, int aCol, float[] b, int bi, int ldb,
                                 float[] c, int ci, int ldc, boolean accumulate) {
        FloatVector r00 = load(c, ci, accumulate);
        FloatVector r01 = load(c, ci + LANES, accumulate);
        FloatVector r10 = load(c, ci + 1 * ldc, accumulate);
        FloatVector r11 = load(c, ci + 1 * ldc + LANES, accumulate);
        FloatVector r20 = load(c, ci + 2 * ldc, accumulate);
        FloatVector r21 = load(c, ci + 2 * ldc + LANES, accumulate);
        FloatVector r30 = load(c, ci + 3 * ldc, accumulate);
        FloatVector r31 = load(c, ci + 3 * ldc + LANES, accumulate);
        FloatVector r40 = load(c, ci + 4 * ldc, accumulate);
        FloatVector r41 = load(c, ci + 4 * ldc + LANES, accumulate);
        FloatVector r50 = load(c, ci + 5 * ldc, accumulate);
        FloatVector r51 = load(c, ci + 5 * ldc + LANES, accumulate);
        FloatVector r60 = load(c, ci + 6 * ldc, accumulate);
        FloatVector r61 = load(c, ci + 6 * ldc + LANES, accumulate);
        FloatVector r70 = load(c, ci + 7 * ldc, accumulate);
        FloatVector r71 = load(c, ci + 7 * ldc + LANES, accumulate);
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
            x = FloatVector.broadcast(F, a[ai + 4 * aRow]);
            r40 = x.fma(b0, r40);
            r41 = x.fma(b1, r41);
            x = FloatVector.broadcast(F, a[ai + 5 * aRow]);
            r50 = x.fma(b0, r50);
            r51 = x.fma(b1, r51);
            x = FloatVector.broadcast(F, a[ai + 6 * aRow]);
            r60 = x.fma(b0, r60);
            r61 = x.fma(b1, r61);
            x = FloatVector.broadcast(F, a[ai + 7 * aRow]);
            r70 = x.fma(b0, r70);
            r71 = x.fma(b1, r71);
        }
        r00.intoArray(c, ci);
        r01.intoArray(c, ci + LANES);
        r10.intoArray(c, ci + 1 * ldc);
        r11.intoArray(c, ci + 1 * ldc + LANES);
        r20.intoArray(c, ci + 2 * ldc);
        r21.intoArray(c, ci + 2 * ldc + LANES);
        r30.intoArray(c, ci + 3 * ldc);
        r31.intoArray(c, ci + 3 * ldc + LANES);
        r40.intoArray(c, ci + 4 * ldc);
        r41.intoArray(c, ci + 4 * ldc + LANES);
        r50.intoArray(c, ci + 5 * ldc);
        r51.intoArray(c, ci + 5 * ldc + LANES);
        r60.intoArray(c, ci + 6 * ldc);
        r61.intoArray(c, ci + 6 * ldc + LANES);
        r70.intoArray(c, ci + 7 * ldc);
        r71.intoArray(c, ci + 7 * ldc + LANES);
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
