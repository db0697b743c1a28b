package dev.longbow.backend.cpu;

import static dev.longbow.backend.cpu.Tiling.BLOCK_K;

import dev.longbow.backend.AttentionParams;
import dev.longbow.tensor.Tensor;
import java.util.Arrays;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
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
    /**
     * How far (in base-2 units) a tile's max may pass the running max before m moves: the
     * exponentials then reach at most 2^8, far from fp32's range, and on most tiles past the
     * first few no query's m moves, so the output's rescaling pass is skipped (the lazy rescaling
     * of FlashAttention-4).
     */
    private static final float LAZY_MAX = 8f;

    private final AttentionDims dims;
    private final AttentionParams params;
    private final MicroGemm.Blocking blocking;
    private final int dp;
    private final float c;
    /** Gather offsets of one column of a {@code [ROWS][d]} row block: lane n reads row n. */
    private final int[] acrossRows;
    /** Gather offsets of one query's column of oT: lane n reads head dim n. */
    private final int[] downColumn;
    /** Per key/value head, as padded rows (the arrays may be longer than this call's packing). */
    private final float[][] keys;
    private final float[][] values;

    private FlashForward(AttentionDims dims, AttentionParams params, MicroGemm.Blocking blocking, AttentionScratch scratch,
                         Tensor k, Tensor v) {
        this.dims = dims;
        this.params = params;
        this.blocking = blocking;
        this.dp = Tiling.paddedDim(dims.d());
        this.c = params.scale() * SoftmaxRows.LOG2_E;
        this.acrossRows = IntStream.range(0, L).map(n -> n * dims.d()).toArray();
        this.downColumn = IntStream.range(0, L).map(n -> n * ROWS).toArray();
        int rows = Tiling.roundUp(dims.sk(), BLOCK_K);
        this.keys = scratch.arrays(AttentionScratch.Packing.KEY_ROWS, dims.hkv(), rows * dp);
        this.values = scratch.arrays(AttentionScratch.Packing.VALUE_ROWS, dims.hkv(), rows * dp);
        CpuThreads.parallelFor(dims.hkv(), g -> {
            Tiling.packRows(k, g, rows, dp, keys[g]);
            Tiling.packRows(v, g, rows, dp, values[g]);
        });
    }

    static void run(AttentionDims dims, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, AttentionParams params,
                    AttentionScratch scratch) {
        run(dims, q, k, v, out, lse, params, scratch, MicroGemm.Blocking.PREFERRED);
    }

    /** With the micro-kernel's register blocking chosen by the caller (tests run every one). */
    static void run(AttentionDims dims, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, AttentionParams params,
                    AttentionScratch scratch, MicroGemm.Blocking blocking) {
        new FlashForward(dims, params, blocking, scratch, k, v).compute(q, out, lse);
    }

    /** One worker's tiles, all with the item's queries as the fastest dimension. */
    private final class Tiles {
        final float[] qT = new float[dims.d() * ROWS];
        final float[] sT = new float[BLOCK_K * ROWS];
        /** dp rows (d rounded up to whole vectors): the output's gathers read whole vectors of head dims, the padding rows stay 0. */
        final float[] oT = new float[dp * ROWS];
        final float[] m = new float[ROWS];
        final float[] l = new float[ROWS];
        final float[] correction = new float[ROWS];
        /** A tile's column maxima, then the shift of its exponentials. */
        final float[] shift = new float[ROWS];
        /** The item's query or output rows as stored, {@code [ROWS][d]}, on their way into or out of the transposed tiles. */
        final float[] rows = new float[ROWS * dims.d()];
    }

    private void compute(Tensor q, Tensor out, Tensor lse) {
        int blocks = Tiling.blocks(dims.sq(), ROWS);
        // Head by head, so that the threads stream the same keys and values through the shared
        // cache; within a head the later query blocks, which see more keys under a causal mask, first.
        CpuThreads.parallelFor(blocks * dims.hq(), w -> new Tiles(), (Tiles t, int item) ->
                queryBlock(t, item / blocks, blocks - 1 - item % blocks, q, out, lse));
    }

    private void queryBlock(Tiles t, int h, int qb, Tensor q, Tensor out, Tensor lse) {
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
        storeOutput(t, h, q0, rows, out, lse);
    }

    /**
     * {@code qT[e][i] = q[q0 + i, h, e]}, zero for the padding queries up to {@code cols}: the rows
     * copied in bulk, then transposed a vector of queries at a time by gathers down a column (a
     * scalar store an element, strided by the tile's width, took 3% of the S = 4096 forward).
     */
    private void loadTransposed(Tiles t, Tensor q, int h, int q0, int rows, int cols) {
        int d = dims.d();
        for (int i = 0; i < rows; i++) {
            FloatRows.load(q, ((long) (q0 + i) * dims.hq() + h) * d, t.rows, i * d, d);
        }
        Arrays.fill(t.rows, rows * d, cols * d, 0f);
        for (int e = 0; e < d; e++) {
            for (int i = 0; i < cols; i += L) {
                FloatVector.fromArray(F, t.rows, i * d + e, acrossRows, 0).intoArray(t.qT, e * ROWS + i);
            }
        }
    }

    /**
     * out rows {@code q0 ..} of head h from {@code oT / l}, and their lse. Each query's row is
     * gathered down oT's column a vector of head dims at a time (the last one reaches into oT's
     * zero padding where {@code d} is not a multiple of the lanes, and stores masked), then
     * stored in bulk.
     */
    private void storeOutput(Tiles t, int h, int q0, int rows, Tensor out, Tensor lse) {
        int d = dims.d();
        int full = d - d % L;
        VectorMask<Float> tail = F.indexInRange(full, d);
        for (int i = 0; i < rows; i++) {
            float l = t.l[i];
            // l == 0: the query saw no key; out 0 and lse -inf say "contributes nothing".
            float norm = l == 0 ? 0 : 1 / l;
            int e = 0;
            for (; e < full; e += L) {
                FloatVector.fromArray(F, t.oT, e * ROWS + i, downColumn, 0).mul(norm).intoArray(t.rows, i * d + e);
            }
            if (e < d) {
                FloatVector.fromArray(F, t.oT, e * ROWS + i, downColumn, 0).mul(norm).intoArray(t.rows, i * d + e, tail);
            }
            long row = (long) (q0 + i) * dims.hq() + h;
            lse.setFloat(row, l == 0 ? Float.NEGATIVE_INFINITY : (t.m[i] + (float) (Math.log(l) / Math.log(2))) * SoftmaxRows.LN_2);
        }
        for (int i = 0; i < rows; i++) {
            FloatRows.store(t.rows, i * d, out, ((long) (q0 + i) * dims.hq() + h) * d, d);
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
    private void softmaxColumns(Tiles t, int keys, int first, int cols) {
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

    /**
     * The running max m, the shift the tile's exponentials use (in t.shift, over the tile's
     * maxima) and the correction of the old sums. m moves only where the tile's max passes it by
     * more than {@link #LAZY_MAX}: below that the exponentials use the old m and reach at most
     * {@code 2^LAZY_MAX}, the correction stays 1, and {@link #rescaleOutput} skips the columns.
     */
    private void runningMaxima(Tiles t, int first, int cols) {
        for (int i = first; i < cols; i += L) {
            FloatVector mOld = FloatVector.fromArray(F, t.m, i);
            FloatVector tileMax = FloatVector.fromArray(F, t.shift, i).mul(c);
            FloatVector mNew = mOld.blend(tileMax, tileMax.compare(VectorOperators.GT, mOld.add(LAZY_MAX)));
            // A query that has seen nothing yet keeps m = -inf; shift by 0 so that 2^(-inf - shift) is 0, not NaN.
            FloatVector shift = mNew.blend(0f, mNew.compare(VectorOperators.EQ, Float.NEGATIVE_INFINITY));
            VectorExp.exp2(mOld.sub(shift)).intoArray(t.correction, i);
            mNew.intoArray(t.m, i);
            shift.intoArray(t.shift, i);
        }
    }

    /** Scores to {@code 2^(c s - shift)} in place, their column sums into l (after the correction). */
    private void exponentiate(Tiles t, int keys, int first, int cols) {
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

    /** {@code oT[e][i] *= correction[i]}, skipping each vector of queries whose m did not move (correction 1). */
    private static void rescaleOutput(float[] oT, float[] correction, int first, int cols, int d) {
        for (int i = first; i < cols; i += L) {
            FloatVector factor = FloatVector.fromArray(F, correction, i);
            if (!factor.compare(VectorOperators.NE, 1f).anyTrue()) {
                continue;
            }
            for (int e = 0; e < d; e++) {
                int at = e * ROWS + i;
                FloatVector.fromArray(F, oT, at).mul(factor).intoArray(oT, at);
            }
        }
    }
}
