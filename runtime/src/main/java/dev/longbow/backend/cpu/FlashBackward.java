package dev.longbow.backend.cpu;

import dev.longbow.backend.AttentionParams;
import dev.longbow.backend.cpu.AttentionScratch.Packing;
import dev.longbow.tensor.Tensor;
import java.util.Arrays;

/**
 * Flash attention backward (FlashAttention-2): per key block, walk the query blocks that see it,
 * recompute {@code P = 2^(c s - lse / ln 2)} from the saved log-sum-exp, and form
 * {@code dP = dO V^T}, {@code dS = scale * P * (dP - D)} with {@code D = rowsum(dO * O)};
 * then {@code dV += P^T dO}, {@code dK += dS^T Q}, {@code dQ += dS K}.
 *
 * <p>No two threads write the same memory: a work item owns one key/value head and a contiguous
 * chunk of its key blocks, so it owns those rows of dK and dV outright. dQ rows receive from every
 * chunk, so each item adds into its own partial dQ for its query heads, and a last pass sums the
 * chunks' partials into dq row by row, in chunk order. On one thread there is one chunk per head
 * and the partial is just a staging buffer.
 */
final class FlashBackward {
    /** Keys per work tile: the rows of dK and dV a tile accumulates while the queries stream past. */
    static final int KEYS = 192;
    /** Queries per tile. */
    static final int QUERIES = 64;
    /** Work items per thread the backward aims for, and the most chunks a kv head is split into for them. */
    private static final int ITEMS_PER_THREAD = 8;
    private static final int MAX_CHUNKS = 4;

    private final AttentionDims dims;
    private final AttentionParams params;
    private final MicroGemm.Blocking blocking;
    private final int dp;
    private final float c;
    private final int queryRows;
    /** Per key/value head (these arrays, and the per query head ones, may be longer than this call's packing). */
    private final float[][] keysT;
    private final float[][] keys;
    private final float[][] valuesT;
    /** Per query head: padded rows of q and dout, the lse in base 2, and D = rowsum(dout * out). */
    private final float[][] queries;
    private final float[][] douts;
    private final float[][] lse2;
    private final float[][] delta;
    private final AttentionScratch scratch;

    private FlashBackward(AttentionDims dims, AttentionParams params, MicroGemm.Blocking blocking, AttentionScratch scratch,
                          Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dout) {
        this.dims = dims;
        this.params = params;
        this.blocking = blocking;
        this.dp = Tiling.paddedDim(dims.d());
        this.c = params.scale() * SoftmaxRows.LOG2_E;
        this.queryRows = Tiling.roundUp(dims.sq(), QUERIES);
        int keyRows = Tiling.roundUp(dims.sk(), KEYS);
        int keyBlocks = Tiling.blocks(dims.sk(), KEYS) * KEYS * dims.d();
        keysT = scratch.arrays(Packing.KEY_BLOCKS_T, dims.hkv(), keyBlocks);
        keys = scratch.arrays(Packing.KEY_ROWS, dims.hkv(), keyRows * dp);
        valuesT = scratch.arrays(Packing.VALUE_BLOCKS_T, dims.hkv(), keyBlocks);
        CpuThreads.parallelFor(dims.hkv(), g -> {
            Tiling.packTransposedBlocks(k, g, KEYS, keysT[g]);
            Tiling.packRows(k, g, keyRows, dp, keys[g]);
            Tiling.packTransposedBlocks(v, g, KEYS, valuesT[g]);
        });
        queries = scratch.arrays(Packing.QUERY_ROWS, dims.hq(), queryRows * dp);
        douts = scratch.arrays(Packing.DOUT_ROWS, dims.hq(), queryRows * dp);
        lse2 = scratch.arrays(Packing.LSE2, dims.hq(), dims.sq());
        delta = scratch.arrays(Packing.DELTA, dims.hq(), dims.sq());
        CpuThreads.parallelFor(dims.hq(), h -> {
            Tiling.packRows(q, h, queryRows, dp, queries[h]);
            Tiling.packRows(dout, h, queryRows, dp, douts[h]);
            float[] outRow = new float[dims.d()];
            for (int i = 0; i < dims.sq(); i++) {
                lse2[h][i] = lse.getFloat((long) i * dims.hq() + h) * SoftmaxRows.LOG2_E;
                // D needs each row of out once: read it as it stands, no packing.
                FloatRows.load(out, ((long) i * dims.hq() + h) * dims.d(), outRow, 0, dims.d());
                double sum = 0;
                for (int e = 0; e < dims.d(); e++) {
                    sum += (double) douts[h][i * dp + e] * outRow[e];
                }
                delta[h][i] = (float) sum;
            }
        });
        this.scratch = scratch;
    }

    static void run(AttentionDims dims, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dout,
                    Tensor dq, Tensor dk, Tensor dv, AttentionParams params, AttentionScratch scratch) {
        run(dims, q, k, v, out, lse, dout, dq, dk, dv, params, scratch, MicroGemm.Blocking.PREFERRED);
    }

    /** With the micro-kernel's register blocking chosen by the caller (tests run every one). */
    static void run(AttentionDims dims, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dout,
                    Tensor dq, Tensor dk, Tensor dv, AttentionParams params, AttentionScratch scratch,
                    MicroGemm.Blocking blocking) {
        new FlashBackward(dims, params, blocking, scratch, q, k, v, out, lse, dout).compute(dq, dk, dv);
    }

    /** One worker's tiles. */
    private final class Tiles {
        final float[] p = new float[QUERIES * KEYS];
        final float[] ds = new float[QUERIES * KEYS];
        final float[] dkT = new float[dims.d() * KEYS];
        final float[] dvT = new float[dims.d() * KEYS];
        final float[] row = new float[dims.d()];
    }

    private void compute(Tensor dq, Tensor dk, Tensor dv) {
        int[] chunkStarts = balancedChunks(chunksPerHead());
        int chunks = chunkStarts.length - 1;
        // dqPartial[g * chunks + chunk]: [group][queryRows][dp] for the query heads of kv head g.
        int partLength = dims.group() * queryRows * dp;
        float[][] dqPartial = scratch.arrays(Packing.DQ_PARTIAL, dims.hkv() * chunks, partLength);
        CpuThreads.parallelFor(dims.hkv() * chunks, w -> new Tiles(), (Tiles t, int item) -> {
            int g = item / chunks;
            int chunk = item % chunks;
            Arrays.fill(dqPartial[item], 0, partLength, 0f);
            for (int kb = chunkStarts[chunk]; kb < chunkStarts[chunk + 1]; kb++) {
                keyBlock(t, g, kb, dqPartial[item], dk, dv);
            }
        });
        int rowBlocks = Tiling.blocks(dims.sq(), QUERIES);
        CpuThreads.parallelFor(dims.hq() * rowBlocks, item -> {
            int h = item / rowBlocks;
            int g = h / dims.group();
            int at = (h % dims.group()) * queryRows * dp;
            for (int i = item % rowBlocks * QUERIES; i < Math.min(dims.sq(), (item % rowBlocks + 1) * QUERIES); i++) {
                for (int chunk = 0; chunk < chunks; chunk++) {
                    FloatRows.add(dqPartial[g * chunks + chunk], at + i * dp, dq, ((long) i * dims.hq() + h) * dims.d(), dims.d());
                }
            }
        });
    }

    /**
     * dK, dV of key block kb of kv head g, and its share of dQ for the group's query heads. dK and
     * dV are accumulated transposed ({@code [d][KEYS]}) so that their products run over the
     * block's keys, a multiple of the micro-kernel's width, rather than over the head dim.
     */
    private void keyBlock(Tiles t, int g, int kb, float[] dqPart, Tensor dk, Tensor dv) {
        int d = dims.d();
        int k0 = kb * KEYS;
        int kn = Math.min(KEYS, dims.sk() - k0);
        long kPos = params.kStart() + k0;
        Arrays.fill(t.dkT, 0f);
        Arrays.fill(t.dvT, 0f);
        for (int member = 0; member < dims.group(); member++) {
            int h = g * dims.group() + member;
            for (int q0 = 0; q0 < dims.sq(); q0 += QUERIES) {
                int rows = Math.min(QUERIES, dims.sq() - q0);
                long qPos = params.qStart() + q0;
                int cols = Tiling.roundUp(Tiling.visibleKeys(qPos + rows - 1, kPos, kn, params.causal()), MicroGemm.LANES);
                // Under a causal mask the rows above `first` see none of this block.
                int first = params.causal() ? (int) Math.clamp(kPos - qPos, 0, rows) : 0;
                int m = rows - first;
                if (cols == 0 || m == 0) {
                    continue;
                }
                int qAt = (q0 + first) * dp;
                int tileAt = first * KEYS;
                MicroGemm.multiply(blocking, m, cols, d, queries[h], qAt, dp, 1, keysT[g], k0 * d, KEYS, t.p, tileAt, KEYS, false);
                MicroGemm.multiply(blocking, m, cols, d, douts[h], qAt, dp, 1, valuesT[g], k0 * d, KEYS, t.ds, tileAt, KEYS, false);
                for (int i = first; i < rows; i++) {
                    gradientRow(t, i, Tiling.visibleKeys(qPos + i, kPos, kn, params.causal()), cols,
                            lse2[h][q0 + i], delta[h][q0 + i]);
                }
                MicroGemm.multiply(blocking, d, cols, m, douts[h], qAt, 1, dp, t.p, tileAt, KEYS, t.dvT, 0, KEYS, true);
                MicroGemm.multiply(blocking, d, cols, m, queries[h], qAt, 1, dp, t.ds, tileAt, KEYS, t.dkT, 0, KEYS, true);
                MicroGemm.multiply(blocking, m, dp, cols, t.ds, tileAt, KEYS, 1, keys[g], k0 * dp, dp,
                        dqPart, (member * queryRows + q0 + first) * dp, dp, true);
            }
        }
        for (int j = 0; j < kn; j++) {
            long row = ((long) (k0 + j) * dims.hkv() + g) * d;
            addTransposedColumn(t.dkT, j, t.row, dk, row);
            addTransposedColumn(t.dvT, j, t.row, dv, row);
        }
    }

    /** Adds column j of a {@code [d][KEYS]} accumulator to the d elements of {@code t} at {@code index}. */
    private void addTransposedColumn(float[] transposed, int j, float[] row, Tensor t, long index) {
        for (int e = 0; e < dims.d(); e++) {
            row[e] = transposed[e * KEYS + j];
        }
        FloatRows.add(row, 0, t, index, dims.d());
    }

    /** Row i: scores to probabilities P (in t.p), dP (in t.ds) to dS = scale * P * (dP - D). */
    private void gradientRow(Tiles t, int i, int visible, int cols, float rowLse2, float rowDelta) {
        int at = i * KEYS;
        if (visible == 0 || rowLse2 == Float.NEGATIVE_INFINITY) {
            Arrays.fill(t.p, at, at + cols, 0f);
            Arrays.fill(t.ds, at, at + cols, 0f);
            return;
        }
        SoftmaxRows.probabilities(t.p, at, visible, cols, c, rowLse2);
        SoftmaxRows.softmaxGradient(t.p, t.ds, at, cols, rowDelta, params.scale());
    }

    /**
     * Key-block chunks per kv head. Threads do not run at one speed: on the two vCPUs of a VM one
     * ran the S = 4096, D = 128 backward's heads in 85 ms each while the other took 67, for seconds
     * on end, and with one head per item they took turns, the faster one waiting out a fifth of
     * the call at the end. The items are handed out to whichever thread is free, so several per
     * thread even that out: {@link #ITEMS_PER_THREAD}, with at most {@link #MAX_CHUNKS} chunks a
     * head, as each chunk adds a partial dQ the size of the head's dq.
     */
    private int chunksPerHead() {
        if (CpuThreads.COUNT == 1) {
            return 1;
        }
        int wanted = Tiling.blocks(ITEMS_PER_THREAD * CpuThreads.COUNT, dims.hkv());
        return Math.clamp(wanted, 1, Math.max(1, Math.min(MAX_CHUNKS, Tiling.blocks(dims.sk(), KEYS))));
    }

    /**
     * Splits the key blocks into at most {@code chunks} contiguous runs of about equal work (the
     * query rows that see each block, under a causal mask); returns the run boundaries.
     */
    private int[] balancedChunks(int chunks) {
        int blocks = Tiling.blocks(dims.sk(), KEYS);
        long[] work = new long[blocks + 1];
        for (int kb = 0; kb < blocks; kb++) {
            long kPos = params.kStart() + (long) kb * KEYS;
            long seen = params.causal() ? Math.clamp(params.qStart() + dims.sq() - kPos, 0, dims.sq()) : dims.sq();
            work[kb + 1] = work[kb] + seen;
        }
        int[] starts = new int[chunks + 1];
        int kb = 0;
        for (int chunk = 1; chunk < chunks; chunk++) {
            long target = work[blocks] * chunk / chunks;
            while (kb < blocks && work[kb] < target) {
                kb++;
            }
            starts[chunk] = kb;
        }
        starts[chunks] = blocks;
        return starts;
    }
}
