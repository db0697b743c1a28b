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
 * {@code MR x NR} register-blocked micro-kernel over them. Packing turns every transpose into
 * streams the kernel reads at loop-invariant offsets: B's panels contiguous, a plain A's panel
 * rows side by side, a transposed A's k runs as stored, a fixed step apart (see {@code packA}).
 *
 * <p>The micro-tile comes from the register count ({@link Blocking}): 6 rows x 2 vectors, twelve
 * accumulators and two B vectors in 16 registers (AVX2), or 12 rows x 2 vectors, 24 accumulators,
 * in 32 (AVX-512), which halves the B loads and loop overhead per FMA. Two vectors, not three: the
 * model's widths (64, 128, 192, 352) are multiples of 32 columns, not of 48. With beta = 0 the first
 * K block stores its tile instead of adding to a zeroed C, so C is not swept an extra time (the
 * head's logits, 256 x 50257 per chunk, are 51 MB). Reference: {@code CpuModelOpsTest} and
 * {@code GemmBlockingTest} against float64; speed: {@code GemmBenchmark}, beside OpenBLAS sgemm.
 *
 * <p>Every element of C sums its K products in one fixed order (K blocks in sequence, k within a
 * block in sequence), whatever the thread count: results are reproducible bit for bit.
 */
final class CpuModelOpsGemm {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = F.length();
    static final int NR = 2 * LANES;
    static final int KC = 256;
    private static final int NC = 128 * NR;
    /** Work items per thread where a product can be split that finely at little cost. */
    private static final int ITEMS_PER_THREAD = 8;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** Rows of the micro-tile, from the register count of the species. */
    enum Blocking {
        SIX_ROWS(6), TWELVE_ROWS(12);

        /** 512-bit vectors come with 32 registers (AVX-512); narrower species here with 16. */
        static final Blocking PREFERRED = F.vectorBitSize() >= 512 ? TWELVE_ROWS : SIX_ROWS;

        final int mr;

        Blocking(int mr) {
            this.mr = mr;
        }
    }

    private final Blocking blocking;
    final int mr;
    /** Rows of A per task: 32 micro-panels, so that a transposed A is read in runs of 1.5 KB (AVX-512) per k. */
    final int mc;

    CpuModelOpsGemm() {
        this(Blocking.PREFERRED);
    }

    CpuModelOpsGemm(Blocking blocking) {
        this.blocking = blocking;
        this.mr = blocking.mr;
        this.mc = 32 * mr;
    }

    /** Where a task's packing buffer keeps the micro-kernel's spilled tile: past the largest packed A block. */
    int spillAt() {
        return KC * transposedStep(mc);
    }

    /** A 2-D fp32 operand read through an optional transpose: element (i, j) of op(x). */
    record Operand(MemorySegment data, long ld, boolean trans) {
        static Operand of(Tensor t, boolean trans) {
            return new Operand(t.data(), t.dim(1), trans);
        }
    }

    /** Every tensor fp32 and 2-D, or an error naming {@code op} and the first that is not. */
    static void requireMatrices(String op, Tensor... tensors) {
        for (Tensor t : tensors) {
            t.requireDType(DType.F32);
            if (t.shape().rank() != 2) {
                throw new IllegalArgumentException(op + " needs 2-D tensors, got " + t);
            }
        }
    }

    void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, float alpha, float beta) {
        requireMatrices("matmul", a, b, c);
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
        if (k == 0 || alpha == 0f) {
            scaleC(c.data(), m * n, beta);
            return;
        }
        if (beta != 0f) {
            scaleC(c.data(), m * n, beta);
        }
        Operand opA = Operand.of(a, transA), opB = Operand.of(b, transB);
        int mi = (int) m, ni = (int) n, ki = (int) k;
        if ((mi + mc - 1) / mc <= CpuThreads.COUNT) {
            fewRowBlocks(opA, opB, c.data(), mi, ni, ki, alpha, beta);
            return;
        }
        int spillAt = spillAt();
        for (int k0 = 0; k0 < ki; k0 += KC) {
            int kc = Math.min(KC, ki - k0);
            // beta = 0: the first K block stores, the later ones add.
            boolean store = k0 == 0 && beta == 0f;
            for (int n0 = 0; n0 < ni; n0 += NC) {
                int nc = Math.min(NC, ni - n0);
                int panels = (nc + NR - 1) / NR;
                float[] packedB = new float[panels * NR * kc];
                int fk0 = k0, fn0 = n0;
                CpuThreads.parallelFor(panels, worker -> new float[NR * KC],
                        (rows, p) -> packB(opB, fk0, kc, fn0 + p * NR, Math.min(NR, nc - p * NR), packedB, p * NR * kc, rows));
                CpuThreads.parallelFor((mi + mc - 1) / mc, worker -> new float[spillAt + mr * NR], (packedA, task) -> {
                    int m0 = task * mc;
                    int rows = Math.min(mc, mi - m0);
                    packA(opA, m0, rows, fk0, kc, packedA);
                    for (int p = 0; p < panels; p++) {
                        int col = fn0 + p * NR;
                        microTiles(opA.trans, packedA, rows, packedB, p * NR * kc, kc,
                                new GemmTile(c.data(), ni, m0, col, 0, Math.min(NR, ni - col), alpha, store, packedA, spillAt));
                    }
                });
            }
        }
    }

    /**
     * No more row blocks than threads (a small M: the head's input gradient, M = 256 and K = 50257;
     * weight gradients): the columns are split too, and each task runs every K block itself with
     * B panels of its own, so the pool is entered once, not twice per K block (a hand-off each
     * time, tens of microseconds in a VM); B is packed at most once per row block.
     */
    private void fewRowBlocks(Operand opA, Operand opB, MemorySegment c, int mi, int ni, int ki, float alpha, float beta) {
        int rowBlocks = (mi + mc - 1) / mc;
        int panels = (ni + NR - 1) / NR;
        // A thread each at least; where the groups stay wide (eight panels or more, so that packing A
        // again per group costs little: the head's logits) eight a thread, so that threads running at
        // unequal speeds (a VM's vCPUs) even out.
        int perThread = Math.min(panels, (CpuThreads.COUNT + rowBlocks - 1) / rowBlocks);
        int evened = Math.min((ITEMS_PER_THREAD * CpuThreads.COUNT + rowBlocks - 1) / rowBlocks, panels / 8);
        int colGroups = CpuThreads.COUNT == 1 ? 1 : Math.max(1, Math.max(perThread, evened));
        int panelsPerGroup = (panels + colGroups - 1) / colGroups;
        int spillAt = spillAt();
        int chunk = NC / NR;
        CpuThreads.parallelFor(rowBlocks * colGroups, worker -> new float[][] {new float[spillAt + mr * NR], new float[NC * KC], new float[NR * KC]},
                (buffers, task) -> {
                    float[] packedA = buffers[0];
                    float[] packedB = buffers[1];
                    int m0 = (task / colGroups) * mc;
                    int rows = Math.min(mc, mi - m0);
                    int p0 = (task % colGroups) * panelsPerGroup;
                    int p1 = Math.min(panels, p0 + panelsPerGroup);
                    for (int k0 = 0; k0 < ki; k0 += KC) {
                        int kc = Math.min(KC, ki - k0);
                        boolean store = k0 == 0 && beta == 0f;
                        packA(opA, m0, rows, k0, kc, packedA);
                        for (int q0 = p0; q0 < p1; q0 += chunk) {
                            int q1 = Math.min(p1, q0 + chunk);
                            for (int p = q0; p < q1; p++) {
                                packB(opB, k0, kc, p * NR, Math.min(NR, ni - p * NR), packedB, (p - q0) * NR * kc, buffers[2]);
                            }
                            for (int p = q0; p < q1; p++) {
                                microTiles(opA.trans, packedA, rows, packedB, (p - q0) * NR * kc, kc,
                                        new GemmTile(c, ni, m0, p * NR, 0, Math.min(NR, ni - p * NR), alpha, store, packedA, spillAt));
                            }
                        }
                    }
                });
    }

    /** The micro-tiles of one B panel down a packed A block of {@code rows} rows; {@code at} gives C's column, width and mode. */
    void microTiles(boolean transA, float[] packedA, int rows, float[] packedB, int bOff, int kc, GemmTile at) {
        boolean twelve = blocking == Blocking.TWELVE_ROWS;
        for (int r = 0; r < rows; r += mr) {
            GemmTile tile = new GemmTile(at.c(), at.ldc(), at.row() + r, at.col(), Math.min(mr, rows - r), at.cols(), at.alpha(), at.store(), at.spill(), at.spillAt());
            if (transA) {
                if (twelve) {
                    GemmMicroKernels.kernel12x2(packedA, r, transposedStep(rows), packedB, bOff, kc, tile);
                } else {
                    GemmMicroKernels.kernel6x2(packedA, r, transposedStep(rows), packedB, bOff, kc, tile);
                }
            } else if (twelve) {
                GemmMicroKernels.kernel12x2Rows(packedA, r * kc, packedB, bOff, kc, tile);
            } else {
                GemmMicroKernels.kernel6x2Rows(packedA, r * kc, packedB, bOff, kc, tile);
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

    /**
     * Floats a k of a transposed A's block as copied ({@code [kc][ld]}): the block's rows rounded
     * up to whole panels, and one vector more so that successive ks fall on different L1 sets.
     */
    int transposedStep(int rows) {
        return (rows + mr - 1) / mr * mr + LANES;
    }

    /**
     * op(A) rows [m0, m0+rows), columns [k0, k0+kc) for the micro-kernels, zero-padded to whole
     * panels of MR rows. A transposed A (stored [K, M]) already holds the MR values of a panel at
     * one k side by side: each k's run is copied as it is, {@link #transposedStep} apart, and the
     * kernel reads its panel down the ks in place. Reordering it into k-major panels, a store a
     * panel a k, was half of the head's weight gradient; the kernel's loads from the strided runs
     * cost less than that pass. A plain A (stored [M, K]) is copied into row-major panels (MR rows
     * of kc), a bulk copy a row; transposing those to k-major cost a scalar store an element, half
     * the kernel's time where N is 64 (the head's input gradient).
     */
    void packA(Operand a, int m0, int rows, int k0, int kc, float[] dst) {
        int panels = (rows + mr - 1) / mr;
        if (a.trans) {
            int step = transposedStep(rows);
            for (int k = 0; k < kc; k++) {
                MemorySegment.copy(a.data, FLOAT, ((long) (k0 + k) * a.ld + m0) * 4, dst, k * step, rows);
                java.util.Arrays.fill(dst, k * step + rows, k * step + panels * mr, 0f);
            }
        } else {
            int full = rows / mr;
            java.util.Arrays.fill(dst, full * mr * kc, panels * mr * kc, 0f);  // the tail panel's padding rows
            for (int i = 0; i < rows; i++) {
                MemorySegment.copy(a.data, FLOAT, ((long) (m0 + i) * a.ld + k0) * 4, dst, (i / mr) * mr * kc + (i % mr) * kc, kc);
            }
        }
    }

    /**
     * op(B) rows [k0, k0+kc), columns [n0, n0+cols) into one NR-wide panel at {@code off},
     * zero-padded; {@code rows} ({@code NR * KC} floats, contents unspecified) is scratch for a
     * transposed B.
     */
    static void packB(Operand b, int k0, int kc, int n0, int cols, float[] dst, int off, float[] rows) {
        if (!b.trans) {
            packRowsB(b, k0, kc, n0, cols, dst, off);
            return;
        }
        // Stored [N, K] (a weight [out, in] used as W^T: the head's logits): each stored row is one
        // panel column. The panel's rows are copied in bulk, side by side, then each k's NR values
        // gathered down them a vector at a time; a scalar store an element was a twentieth of a
        // 4096-token step of the tiny model.
        for (int j = 0; j < cols; j++) {
            MemorySegment.copy(b.data, FLOAT, ((long) (n0 + j) * b.ld + k0) * 4, rows, j * kc, kc);
        }
        java.util.Arrays.fill(rows, cols * kc, NR * kc, 0f);
        int[] downRows = new int[LANES];
        for (int l = 0; l < LANES; l++) {
            downRows[l] = l * kc;
        }
        for (int k = 0; k < kc; k++) {
            for (int v = 0; v < NR; v += LANES) {
                FloatVector.fromArray(F, rows, v * kc + k, downRows, 0).intoArray(dst, off + k * NR + v);
            }
        }
    }

    /** {@link #packB} of a B stored as it is used ([K, N]): a bulk copy a k. */
    static void packRowsB(Operand b, int k0, int kc, int n0, int cols, float[] dst, int off) {
        for (int k = 0; k < kc; k++) {
            MemorySegment.copy(b.data, FLOAT, ((long) (k0 + k) * b.ld + n0) * 4, dst, off + k * NR, cols);
        }
    }
}
