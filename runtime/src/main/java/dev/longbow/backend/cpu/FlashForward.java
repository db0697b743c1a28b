package dev.longbow.backend.cpu;

import static dev.longbow.backend.cpu.Tiling.BLOCK_K;
import static dev.longbow.backend.cpu.Tiling.BLOCK_Q;

import dev.longbow.backend.AttentionParams;
import dev.longbow.tensor.Tensor;
import java.util.Arrays;

/**
 * Flash attention forward (FlashAttention-2 order): one work item is one query head times one
 * block of {@link Tiling#BLOCK_Q} query rows; it streams the key/value blocks it can see through an
 * online softmax, so the scores it holds are one {@code BLOCK_Q x BLOCK_K} tile.
 *
 * <p>Scores are kept in base 2: the softmax of {@code scale * s} is that of {@code 2^(c * s)} with
 * {@code c = scale * log2(e)}, so the exponential is {@link VectorExp#exp2} and the running max
 * {@code m} is in those units; {@code lse = (m + log2(l)) * ln 2}.
 */
final class FlashForward {
    private final AttentionDims dims;
    private final AttentionParams params;
    private final int dp;
    private final float c;
    /** Per key/value head: K transposed by blocks, V as padded rows. */
    private final float[][] keysT;
    private final float[][] values;

    private FlashForward(AttentionDims dims, AttentionParams params, Tensor k, Tensor v) {
        this.dims = dims;
        this.params = params;
        this.dp = Tiling.paddedDim(dims.d());
        this.c = params.scale() * SoftmaxRows.LOG2_E;
        this.keysT = new float[dims.hkv()][];
        this.values = new float[dims.hkv()][];
        int rows = Tiling.roundUp(dims.sk(), BLOCK_K);
        CpuThreads.parallelFor(dims.hkv(), g -> {
            keysT[g] = Tiling.packTransposedBlocks(k, g);
            values[g] = Tiling.packRows(v, g, rows, dp);
        });
    }

    static void run(AttentionDims dims, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, AttentionParams params) {
        new FlashForward(dims, params, k, v).compute(q, out, lse);
    }

    /** One worker's tiles. */
    private final class Scratch {
        final float[] q = new float[BLOCK_Q * dims.d()];
        final float[] s = new float[BLOCK_Q * BLOCK_K];
        final float[] o = new float[BLOCK_Q * dp];
        final float[] m = new float[BLOCK_Q];
        final float[] l = new float[BLOCK_Q];
    }

    private void compute(Tensor q, Tensor out, Tensor lse) {
        int blocks = Tiling.blocks(dims.sq(), BLOCK_Q);
        // Later query blocks see more keys under a causal mask: hand them out first.
        CpuThreads.parallelFor(blocks * dims.hq(), w -> new Scratch(), (Scratch t, int item) ->
                queryBlock(t, item % dims.hq(), blocks - 1 - item / dims.hq(), q, out, lse));
    }

    private void queryBlock(Scratch t, int h, int qb, Tensor q, Tensor out, Tensor lse) {
        int d = dims.d();
        int q0 = qb * BLOCK_Q;
        int rows = Math.min(BLOCK_Q, dims.sq() - q0);
        for (int i = 0; i < rows; i++) {
            FloatRows.load(q, ((long) (q0 + i) * dims.hq() + h) * d, t.q, i * d, d);
        }
        Arrays.fill(t.m, Float.NEGATIVE_INFINITY);
        Arrays.fill(t.l, 0f);
        Arrays.fill(t.o, 0f);
        int g = h / dims.group();
        long qPos = params.qStart() + q0;
        int keys = Tiling.visibleKeys(qPos + rows - 1, params.kStart(), dims.sk(), params.causal());
        for (int k0 = 0; k0 < keys; k0 += BLOCK_K) {
            int kn = Math.min(BLOCK_K, dims.sk() - k0);
            long kPos = params.kStart() + k0;
            int cols = Tiling.roundUp(Tiling.visibleKeys(qPos + rows - 1, kPos, kn, params.causal()), MicroGemm.WIDTH);
            MicroGemm.multiply(rows, cols, d, t.q, 0, d, 1, keysT[g], k0 * d, BLOCK_K, t.s, 0, BLOCK_K, false);
            for (int i = 0; i < rows; i++) {
                softmaxRow(t, i, Tiling.visibleKeys(qPos + i, kPos, kn, params.causal()), cols);
            }
            MicroGemm.multiply(rows, dp, cols, t.s, 0, BLOCK_K, 1, values[g], k0 * dp, dp, t.o, 0, dp, true);
        }
        for (int i = 0; i < rows; i++) {
            long row = (long) (q0 + i) * dims.hq() + h;
            float l = t.l[i];
            // l == 0: the row saw no key; out 0 and lse -inf say "contributes nothing".
            SoftmaxRows.scale(t.o, i * dp, dp, l == 0 ? 0 : 1 / l);
            FloatRows.store(t.o, i * dp, out, row * d, d);
            lse.setFloat(row, l == 0 ? Float.NEGATIVE_INFINITY : (t.m[i] + (float) (Math.log(l) / Math.log(2))) * SoftmaxRows.LN_2);
        }
    }

    /** Turns row i of the score tile into probabilities against the running max, rescaling o and l. */
    private void softmaxRow(Scratch t, int i, int visible, int cols) {
        int at = i * BLOCK_K;
        if (visible == 0) {
            Arrays.fill(t.s, at, at + cols, 0f);
            return;
        }
        float mOld = t.m[i];
        float mNew = Math.max(mOld, c * SoftmaxRows.max(t.s, at, visible));
        float sum = SoftmaxRows.exp2Row(t.s, at, visible, cols, c, mNew);
        if (mNew > mOld) {
            float correction = SoftmaxRows.exp2(mOld - mNew);
            t.l[i] *= correction;
            SoftmaxRows.scale(t.o, i * dp, dp, correction);
        }
        t.l[i] += sum;
        t.m[i] = mNew;
    }
}
