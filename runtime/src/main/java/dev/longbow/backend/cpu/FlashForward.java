package dev.longbow.backend.cpu;

import static dev.longbow.backend.cpu.Tiling.BLOCK_K;

import dev.longbow.backend.AttentionParams;
import dev.longbow.tensor.Tensor;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Flash attention forward (FlashAttention-2 order): one work item is one query head times
 * {@link #ROWS} query rows; it streams the key/value blocks it can see through an online softmax,
 * so the scores it holds are one {@code BLOCK_K x ROWS} tile.
 *
 * <p>The tile is kept transposed, keys by queries: {@code S^T = K Q^T} and {@code O^T += V^T P^T}
 * then both run over the item's queries, a multiple of the micro-kernel's width whatever the head
 * dim, and the softmax statistics of a query are a lane, so the row max and row sum are vector
 * max and add down the tile with no horizontal reductions.
 *
 * <p>Scores are kept in base 2: the softmax of {@code scale * s} is that of {@code 2^(c * s)} with
 * {@code c = scale * log2(e)}, so the exponential is {@link VectorExp#exp2} and the running max
 * {@code m} is in those units; {@code lse = (m + log2(l)) * ln 2}.
 */
final class FlashForward {
    /** Queries per work item; a multiple of three vectors of every species (the kernel's width). */
    static final int ROWS = 192;
    private static final VectorSpecies<Float> F = MicroGemm.F;
    private static final int L = MicroGemm.LANES;

    private final AttentionDims dims;
    private final AttentionParams params;
    private final MicroGemm.Blocking blocking;
    private final int dp;
    private final float c;
    /** Per key/value head, as padded rows. */
    private final float[][] keys;
    private final float[][] values;

    private FlashForward(AttentionDims dims, AttentionParams params, MicroGemm.Blocking blocking, Tensor k, Tensor v) {
        this.dims = dims;
        this.params = params;
        this.blocking = blocking;
        this.dp = Tiling.paddedDim(dims.d());
        this.c = params.scale() * SoftmaxRows.LOG2_E;
        this.keys = new float[dims.hkv()][];
        this.values = new float[dims.hkv()][];
        int rows = Tiling.roundUp(dims.sk(), BLOCK_K);
        CpuThreads.parallelFor(dims.hkv(), g -> {
            keys[g] = Tiling.packRows(k, g, rows, dp);
            values[g] = Tiling.packRows(v, g, rows, dp);
        });
    }

    static void run(AttentionDims dims, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, AttentionParams params) {
        run(dims, q, k, v, out, lse, params, MicroGemm.Blocking.PREFERRED);
    }

    /** With the micro-kernel's register blocking chosen by the caller (tests run every one). */
    static void run(AttentionDims dims, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, AttentionParams params,
                    MicroGemm.Blocking blocking) {
        new FlashForward(dims, params, blocking, k, v).compute(q, out, lse);
    }

    /** One worker's tiles, all with the item's queries as the fastest dimension. */
    private final class Scratch {
        final float[] qT = new float[dims.d() * ROWS];
        final float[] sT = new float[BLOCK_K * ROWS];
        final float[] oT = new float[dims.d() * ROWS];
        final float[] m = new float[ROWS];
        final float[] l = new float[ROWS];
        final float[] correction = new float[ROWS];
        /** A tile's column maxima, then the shift of its exponentials. */
        final float[] shift = new float[ROWS];
        final float[] row = new float[dims.d()];
    }

    private void compute(Tensor q, Tensor out, Tensor lse) {
        int blocks = Tiling.blocks(dims.sq(), ROWS);
        // Head by head, so that the threads stream the same keys and values through the shared
        // cache; within a head the later query blocks, which see more keys under a causal mask, first.
        CpuThreads.parallelFor(blocks * dims.hq(), w -> new Scratch(), (Scratch t, int item) ->
                queryBlock(t, item / blocks, blocks - 1 - item % blocks, q, out, lse));
    }

    private void queryBlock(Scratch t, int h, int qb, Tensor q, Tensor out, Tensor lse) {
        int d = dims.d();
        int q0 = qb * ROWS;
        int rows = Math.min(ROWS, dims.sq() - q0);
        int cols = Tiling.roundUp(rows, L);
        loadTransposed(t, q, h, q0, rows, cols);
        Arrays.fill(t.m, Float.NEGATIVE_INFINITY);
        Arrays.fill(t.l, 0f);
        Arrays.fill(t.oT, 0f);
        int g = h / dims.group();
        long qPos = params.qStart() + q0;
        int visibleToLast = Tiling.visibleKeys(qPos + rows - 1, params.kStart(), dims.sk(), params.causal());
        for (int k0 = 0; k0 < visibleToLast; k0 += BLOCK_K) {
            long kPos = params.kStart() + k0;
            int kn = Tiling.visibleKeys(qPos + rows - 1, kPos, Math.min(BLOCK_K, dims.sk() - k0), params.causal());
            // Queries before `first` see none of this block: start at the vector holding it.
            int first = params.causal() ? (int) Math.clamp(kPos - qPos, 0, rows) & -L : 0;
            int n = cols - first;
            MicroGemm.multiply(blocking, kn, n, d, keys[g], k0 * dp, dp, 1, t.qT, first, ROWS, t.sT, first, ROWS, false);
            if (params.causal() && kPos + kn - 1 > qPos + first) {
                maskDiagonal(t.sT, kn, first, cols, kPos - qPos);
            }
            softmaxColumns(t, kn, first, cols);
            MicroGemm.multiply(blocking, d, n, kn, values[g], k0 * dp, 1, dp, t.sT, first, ROWS, t.oT, first, ROWS, true);
        }
        for (int i = 0; i < rows; i++) {
            long row = (long) (q0 + i) * dims.hq() + h;
            float l = t.l[i];
            // l == 0: the query saw no key; out 0 and lse -inf say "contributes nothing".
            float norm = l == 0 ? 0 : 1 / l;
            for (int e = 0; e < d; e++) {
                t.row[e] = t.oT[e * ROWS + i] * norm;
            }
            FloatRows.store(t.row, 0, out, row * d, d);
            lse.setFloat(row, l == 0 ? Float.NEGATIVE_INFINITY : (t.m[i] + (float) (Math.log(l) / Math.log(2))) * SoftmaxRows.LN_2);
        }
    }

    /** {@code qT[e][i] = q[q0 + i, h, e]}, zero for the padding queries up to {@code cols}. */
    private void loadTransposed(Scratch t, Tensor q, int h, int q0, int rows, int cols) {
        int d = dims.d();
        for (int i = 0; i < rows; i++) {
            FloatRows.load(q, ((long) (q0 + i) * dims.hq() + h) * d, t.row, 0, d);
            for (int e = 0; e < d; e++) {
                t.qT[e * ROWS + i] = t.row[e];
            }
        }
        for (int e = 0; e < d; e++) {
            Arrays.fill(t.qT, e * ROWS + rows, e * ROWS + cols, 0f);
        }
    }

    /** Key j of the tile is hidden from queries {@code i < offset + j} (offset = kPos - qPos). */
    private static void maskDiagonal(float[] sT, int keys, int first, int cols, long offset) {
        for (int j = 0; j < keys; j++) {
            int hidden = (int) Math.clamp(offset + j, first, cols);
            Arrays.fill(sT, j * ROWS + first, j * ROWS + hidden, Float.NEGATIVE_INFINITY);
        }
    }

    /**
     * Online softmax down the columns {@code [first, cols)} of the score tile's {@code keys} rows:
     * scores become probabilities against the new running max, l and the output are rescaled.
     *
     * <p>Four passes, each a method of its own with a handful of vector operations: written as one
     * method, C2 ran out of its inlining budget inside it and left some Vector API calls out of
     * line, boxed (measured: a fifth of the forward's time in the boxed fallbacks of
     * {@code blend}, {@code sub} and {@code reinterpretAsFloats}). Each pass compiles whole.
     */
    private void softmaxColumns(Scratch t, int keys, int first, int cols) {
        columnMaxima(t.sT, keys, first, cols, t.shift);
        runningMaxima(t, first, cols);
        exponentiate(t, keys, first, cols);
        rescaleOutput(t.oT, t.correction, first, cols, dims.d());
    }

    /** {@code max[i] = max_j sT[j][i]}; four maxima in flight, one chain would wait out the max latency at every key. */
    private static void columnMaxima(float[] sT, int keys, int first, int cols, float[] max) {
        for (int i = first; i < cols; i += L) {
            FloatVector max0 = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            FloatVector max1 = max0;
            FloatVector max2 = max0;
            FloatVector max3 = max0;
            int j = 0;
            for (; j + 4 <= keys; j += 4) {
                int at = j * ROWS + i;
                max0 = max0.max(FloatVector.fromArray(F, sT, at));
                max1 = max1.max(FloatVector.fromArray(F, sT, at + ROWS));
                max2 = max2.max(FloatVector.fromArray(F, sT, at + 2 * ROWS));
                max3 = max3.max(FloatVector.fromArray(F, sT, at + 3 * ROWS));
            }
            for (; j < keys; j++) {
                max0 = max0.max(FloatVector.fromArray(F, sT, j * ROWS + i));
            }
            max0.max(max1).max(max2.max(max3)).intoArray(max, i);
        }
    }

    /** The new running max m, the shift the tile's exponentials use (in t.shift, over the tile's maxima) and the correction of the old sums. */
    private void runningMaxima(Scratch t, int first, int cols) {
        for (int i = first; i < cols; i += L) {
            FloatVector mOld = FloatVector.fromArray(F, t.m, i);
            FloatVector mNew = mOld.max(FloatVector.fromArray(F, t.shift, i).mul(c));
            // A query that has seen nothing yet keeps m = -inf; shift by 0 so that 2^(-inf - shift) is 0, not NaN.
            FloatVector shift = mNew.blend(0f, mNew.compare(VectorOperators.EQ, Float.NEGATIVE_INFINITY));
            VectorExp.exp2(mOld.sub(shift)).intoArray(t.correction, i);
            mNew.intoArray(t.m, i);
            shift.intoArray(t.shift, i);
        }
    }

    /** Scores to {@code 2^(c s - shift)} in place, their column sums into l (after the correction). */
    private void exponentiate(Scratch t, int keys, int first, int cols) {
        FloatVector scale = FloatVector.broadcast(F, c);
        for (int i = first; i < cols; i += L) {
            FloatVector minusShift = FloatVector.fromArray(F, t.shift, i).neg();
            FloatVector sum = FloatVector.zero(F);
            for (int j = 0; j < keys; j++) {
                int at = j * ROWS + i;
                FloatVector p = VectorExp.exp2(FloatVector.fromArray(F, t.sT, at).fma(scale, minusShift));
                p.intoArray(t.sT, at);
                sum = sum.add(p);
            }
            FloatVector.fromArray(F, t.l, i).fma(FloatVector.fromArray(F, t.correction, i), sum).intoArray(t.l, i);
        }
    }

    private static void rescaleOutput(float[] oT, float[] correction, int first, int cols, int d) {
        for (int e = 0; e < d; e++) {
            for (int i = first; i < cols; i += L) {
                int at = e * ROWS + i;
                FloatVector.fromArray(F, oT, at).mul(FloatVector.fromArray(F, correction, i)).intoArray(oT, at);
            }
        }
    }
}
