package dev.longbow.backend.cpu;

import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * fp32 {@code C = alpha op(A) op(B) + beta C}, blocked the way Goto and van de Geijn describe: a
 * {@code KC x NC} block of op(B) is packed once into panels {@code NR} columns wide, then each
 * task packs an {@code MC x KC} block of op(A) into panels {@code MR} rows tall and runs the
 * {@code MR x NR} register-blocked micro-kernel over them. Packing turns every transpose into a
 * contiguous, aligned stream, so the kernel never sees a stride.
 *
 * <p>Every element of C sums its K products in one fixed order (K blocks in sequence, k within a
 * block in sequence), whatever the thread count: results are reproducible bit for bit.
 */
final class CpuModelOpsGemm {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = F.length();
    /** The micro-tile: 6 rows x 2 vectors keeps 12 accumulators and 2 B vectors in 16 registers (AVX2). */
    static final int MR = 6;
    static final int NR = 2 * LANES;
    private static final int KC = 256;
    private static final int MC = 12 * MR;
    private static final int NC = 128 * NR;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;


    /** A 2-D fp32 operand read through an optional transpose: element (i, j) of op(x). */
    private record Operand(MemorySegment data, long ld, boolean trans) {
        static Operand of(Tensor t, boolean trans) {
            return new Operand(t.data(), t.dim(1), trans);
        }
    }

    void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, float alpha, float beta) {
        for (Tensor t : new Tensor[]{a, b, c}) {
            t.requireDType(DType.F32);
            if (t.shape().rank() != 2) {
                throw new IllegalArgumentException("matmul needs 2-D tensors, got " + t);
            }
        }
        long m = c.dim(0), n = c.dim(1);
        long k = transA ? a.dim(0) : a.dim(1);
        long aRows = transA ? a.dim(1) : a.dim(0);
        long bRows = transB ? b.dim(1) : b.dim(0);
        long bCols = transB ? b.dim(0) : b.dim(1);
        if (aRows != m || bRows != k || bCols != n) {
            throw new IllegalArgumentException("matmul shapes do not fit: op(a) " + aRows + "x" + k
                    + ", op(b) " + bRows + "x" + bCols + ", c " + m + "x" + n);
        }
        if (m > Integer.MAX_VALUE || n > Integer.MAX_VALUE || k > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("matmul extent over 2^31: " + m + "x" + n + "x" + k);
        }
        scaleC(c.data(), m * n, beta);
        if (k == 0 || alpha == 0f) {
            return;
        }
        Operand opA = Operand.of(a, transA), opB = Operand.of(b, transB);
        int mi = (int) m, ni = (int) n, ki = (int) k;
        for (int k0 = 0; k0 < ki; k0 += KC) {
            int kc = Math.min(KC, ki - k0);
            for (int n0 = 0; n0 < ni; n0 += NC) {
                int nc = Math.min(NC, ni - n0);
                int panels = (nc + NR - 1) / NR;
                float[] packedB = new float[panels * NR * kc];
                int fk0 = k0, fn0 = n0;
                CpuThreads.parallelFor(panels, p -> packB(opB, fk0, kc, fn0 + p * NR, Math.min(NR, nc - p * NR), packedB, p * NR * kc));
                int rowBlocks = (mi + MC - 1) / MC;
                // Split the columns too when there are few row blocks, so small-M products (weight gradients) use every core.
                int colGroups = Math.max(1, Math.min(panels, (CpuThreads.COUNT * 4 + rowBlocks - 1) / rowBlocks));
                int panelsPerGroup = (panels + colGroups - 1) / colGroups;
                CpuThreads.parallelFor(rowBlocks * colGroups, worker -> new float[MC * KC], (packedA, task) -> {
                    int m0 = (task / colGroups) * MC;
                    int mc = Math.min(MC, mi - m0);
                    int p0 = (task % colGroups) * panelsPerGroup;
                    int p1 = Math.min(panels, p0 + panelsPerGroup);
                    if (p0 >= p1) {
                        return;
                    }
                    packA(opA, m0, mc, fk0, kc, packedA);
                    for (int p = p0; p < p1; p++) {
                        int col = fn0 + p * NR;
                        int cols = Math.min(NR, ni - col);
                        for (int r = 0; r < mc; r += MR) {
                            kernel(packedA, r * kc, packedB, p * NR * kc, kc, c.data(), ni, m0 + r, col,
                                    Math.min(MR, mc - r), cols, alpha);
                        }
                    }
                });
            }
        }
    }

    private void scaleC(MemorySegment c, long count, float beta) {
        if (beta == 1f) {
            return;
        }
        if (beta == 0f) {
            c.fill((byte) 0); // not a multiply: 0 * NaN would keep garbage alive
            return;
        }
        for (long i = 0; i < count; i++) {
            c.setAtIndex(FLOAT, i, c.getAtIndex(FLOAT, i) * beta);
        }
    }

    /** op(A) rows [m0, m0+mc), columns [k0, k0+kc) into panels of MR rows, k-major within a panel, zero-padded. */
    private static void packA(Operand a, int m0, int mc, int k0, int kc, float[] dst) {
        int panels = (mc + MR - 1) / MR;
        java.util.Arrays.fill(dst, 0, panels * MR * kc, 0f);
        if (a.trans) {
            // Stored [K, M]: one bulk read of the block's mc values per k, dealt to the panels.
            float[] row = new float[mc];
            for (int k = 0; k < kc; k++) {
                MemorySegment.copy(a.data, FLOAT, ((long) (k0 + k) * a.ld + m0) * 4, row, 0, mc);
                for (int i = 0; i < mc; i++) {
                    dst[(i / MR) * MR * kc + k * MR + i % MR] = row[i];
                }
            }
        } else {
            float[] row = new float[kc];
            for (int i = 0; i < mc; i++) {
                MemorySegment.copy(a.data, FLOAT, ((long) (m0 + i) * a.ld + k0) * 4, row, 0, kc);
                int base = (i / MR) * MR * kc + i % MR;
                for (int k = 0; k < kc; k++) {
                    dst[base + k * MR] = row[k];
                }
            }
        }
    }

    /** op(B) rows [k0, k0+kc), columns [n0, n0+cols) into one NR-wide panel at {@code off}, zero-padded. */
    private static void packB(Operand b, int k0, int kc, int n0, int cols, float[] dst, int off) {
        if (!b.trans) {
            for (int k = 0; k < kc; k++) {
                MemorySegment.copy(b.data, FLOAT, ((long) (k0 + k) * b.ld + n0) * 4, dst, off + k * NR, cols);
            }
        } else {
            // Stored [N, K] (a weight [out, in] used as W^T): each stored row is one panel column.
            float[] row = new float[kc];
            for (int j = 0; j < cols; j++) {
                MemorySegment.copy(b.data, FLOAT, ((long) (n0 + j) * b.ld + k0) * 4, row, 0, kc);
                for (int k = 0; k < kc; k++) {
                    dst[off + k * NR + j] = row[k];
                }
            }
        }
    }

    /** C[row..row+rows, col..col+cols] += alpha * (A panel x B panel). */
    private static void kernel(float[] a, int aOff, float[] b, int bOff, int kc, MemorySegment c, long ldc,
                               int row, int col, int rows, int cols, float alpha) {
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
        FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
        for (int k = 0; k < kc; k++) {
            int bk = bOff + k * NR;
            FloatVector b0 = FloatVector.fromArray(F, b, bk);
            FloatVector b1 = FloatVector.fromArray(F, b, bk + LANES);
            int ak = aOff + k * MR;
            FloatVector x = FloatVector.broadcast(F, a[ak]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(F, a[ak + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(F, a[ak + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(F, a[ak + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(F, a[ak + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(F, a[ak + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        if (rows == MR && cols == NR) {
            long at = (row * ldc + col) * 4, next = ldc * 4, half = LANES * 4L;
            addInto(c, at, c00, alpha);
            addInto(c, at + half, c01, alpha);
            addInto(c, at + next, c10, alpha);
            addInto(c, at + next + half, c11, alpha);
            addInto(c, at + 2 * next, c20, alpha);
            addInto(c, at + 2 * next + half, c21, alpha);
            addInto(c, at + 3 * next, c30, alpha);
            addInto(c, at + 3 * next + half, c31, alpha);
            addInto(c, at + 4 * next, c40, alpha);
            addInto(c, at + 4 * next + half, c41, alpha);
            addInto(c, at + 5 * next, c50, alpha);
            addInto(c, at + 5 * next + half, c51, alpha);
            return;
        }
        // An edge tile: spill the accumulators (no vector arrays: they would make C2 box the loop's vectors).
        float[] tile = new float[MR * NR];
        c00.intoArray(tile, 0);
        c01.intoArray(tile, LANES);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + LANES);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + LANES);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + LANES);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + LANES);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + LANES);
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) {
                long at = (row + r) * ldc + col + j;
                c.setAtIndex(FLOAT, at, c.getAtIndex(FLOAT, at) + alpha * tile[r * NR + j]);
            }
        }
    }

    private static void addInto(MemorySegment c, long byteOffset, FloatVector acc, float alpha) {
        FloatVector.fromMemorySegment(F, c, byteOffset, ByteOrder.nativeOrder()).add(acc.mul(alpha))
                .intoMemorySegment(c, byteOffset, ByteOrder.nativeOrder());
    }
}
