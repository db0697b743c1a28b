package dev.longbow.tornado.vm;

import static dev.longbow.tornado.vm.Kernels.NEG_INF;
import static dev.longbow.tornado.vm.Kernels.THREADS;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * Flash attention as TornadoVM kernels: one work-group of {@link Kernels#THREADS} work-items owns
 * a {@link #TILE}-row block of one head, keeps its tiles in local memory and streams the other
 * side's tiles through them with an online softmax. Tensors are offsets into the device heap; q
 * {@code [Sq, Hq, D]}, k and v {@code [Sk, Hkv, D]}, lse {@code [Sq, Hq]}, query head h reads
 * key/value head {@code h / (Hq / Hkv)}. Under the causal mask key j is visible to query i iff
 * {@code j <= i + shift}, {@code shift = qStart - kStart}.
 *
 * <p>Int slots shared by the three passes: 0 q, 1 k, 2 v, 3 out, 4 lse, 5 dout, 6 dq, 7 dk, 8 dv,
 * 9 Sq, 10 Sk, 11 Hq, 12 Hkv, 13 D, 14 causal (0/1), 15 shift; float slot 0 the scale. Local
 * arrays are sized for {@link #MAX_HEAD_DIM}: at most 42 KB per group, inside the 48 KB GPUs give
 * a work-group. The tile loops are written out in each kernel (see {@link Kernels}).
 */
final class AttentionKernels {
    /** Query rows and key rows per tile. */
    static final int TILE = 16;
    static final int MAX_HEAD_DIM = 128;
    private static final int ROW = MAX_HEAD_DIM;

    private AttentionKernels() {
    }

    /** How many keys the last row of a query tile sees: the bound of the loop over key tiles. */
    private static int visibleKeys(int causal, int lastRow, int shift, int sk) {
        if (causal == 0) {
            return sk;
        }
        return TornadoMath.min(sk, TornadoMath.max(0, lastRow + shift + 1));
    }

    /**
     * How many leading keys of a key tile row {@code r} of a query tile sees (0 past the tile's
     * {@code rows}); {@code offset = q0 + shift - k0}. One comparison against it is the whole
     * mask: TornadoVM 5.2 mis-structures an {@code ||} nested in an {@code &&} condition.
     */
    private static int visibleInRow(int causal, int r, int rows, int kn, int offset) {
        int limit = causal == 0 ? kn : TornadoMath.min(kn, TornadoMath.max(0, offset + r + 1));
        return r < rows ? limit : 0;
    }

    /** Element {@code x} of row {@code r} of a tile of head {@code head} starting at row {@code row0}; 0 past {@code rows}. */
    private static float tileElement(FloatArray heap, int base, int row0, int rows, int heads, int head, int d, int r, int x) {
        return r < rows ? heap.get(base + ((row0 + r) * heads + head) * d + x) : 0f;
    }

    /** {@code rowsum(dout * out)} of one row: the correction term of the softmax gradient. */
    private static float outputDot(FloatArray heap, int dout, int out, int row, int d) {
        float s = 0f;
        for (int x = 0; x < d; x++) {
            s += heap.get(dout + row + x) * heap.get(out + row + x);
        }
        return s;
    }

    /** Forward: out and lse of one query tile. Groups = ceil(Sq / TILE) * Hq. */
    public static void flashForward(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        float[] qs = kc.allocateFloatLocalArray(TILE * ROW);
        float[] ks = kc.allocateFloatLocalArray(TILE * ROW);
        float[] vs = kc.allocateFloatLocalArray(TILE * ROW);
        float[] acc = kc.allocateFloatLocalArray(TILE * ROW);
        float[] p = kc.allocateFloatLocalArray(TILE * TILE);
        float[] rowMax = kc.allocateFloatLocalArray(TILE);
        float[] rowSum = kc.allocateFloatLocalArray(TILE);
        float[] rescale = kc.allocateFloatLocalArray(TILE);
        int sq = args.get(9);
        int sk = args.get(10);
        int hq = args.get(11);
        int hkv = args.get(12);
        int d = args.get(13);
        int causal = args.get(14);
        int shift = args.get(15);
        float scale = scalars.get(0);
        int tid = kc.localIdx;
        int qTiles = (sq + TILE - 1) / TILE;
        int h = kc.groupIdx / qTiles;
        int q0 = (kc.groupIdx - h * qTiles) * TILE;
        int kvh = h / (hq / hkv);
        int rows = TornadoMath.min(TILE, sq - q0);

        for (int e = tid; e < TILE * d; e += THREADS) {
            int r = e / d;
            int x = e - r * d;
            qs[r * ROW + x] = tileElement(heap, args.get(0), q0, rows, hq, h, d, r, x);
            acc[r * ROW + x] = 0f;
        }
        if (tid < TILE) {
            rowMax[tid] = NEG_INF;
            rowSum[tid] = 0f;
        }
        int keys = visibleKeys(causal, q0 + rows - 1, shift, sk);
        for (int k0 = 0; k0 < keys; k0 += TILE) {
            int kn = TornadoMath.min(TILE, sk - k0);
            kc.localBarrier();
            for (int e = tid; e < TILE * d; e += THREADS) {
                int r = e / d;
                int x = e - r * d;
                ks[r * ROW + x] = tileElement(heap, args.get(1), k0, kn, hkv, kvh, d, r, x);
                vs[r * ROW + x] = tileElement(heap, args.get(2), k0, kn, hkv, kvh, d, r, x);
            }
            kc.localBarrier();
            for (int e = tid; e < TILE * TILE; e += THREADS) {
                int r = e / TILE;
                int c = e - r * TILE;
                float s = NEG_INF;
                if (c < visibleInRow(causal, r, rows, kn, q0 + shift - k0)) {
                    float dot = 0f;
                    for (int x = 0; x < d; x++) {
                        dot += qs[r * ROW + x] * ks[c * ROW + x];
                    }
                    s = scale * dot;
                }
                p[e] = s;
            }
            kc.localBarrier();
            if (tid < TILE) {
                // Online softmax of one row; a row that has seen no key keeps max -inf and sum 0.
                float mOld = rowMax[tid];
                float mNew = mOld;
                for (int c = 0; c < TILE; c++) {
                    mNew = TornadoMath.max(mNew, p[tid * TILE + c]);
                }
                float correction = 1f;
                float sum = 0f;
                for (int c = 0; c < TILE; c++) {
                    float e = mNew == NEG_INF ? 0f : TornadoMath.exp(p[tid * TILE + c] - mNew);
                    p[tid * TILE + c] = e;
                    sum += e;
                }
                if (mNew != NEG_INF) {
                    correction = TornadoMath.exp(mOld - mNew);
                }
                rowSum[tid] = rowSum[tid] * correction + sum;
                rowMax[tid] = mNew;
                rescale[tid] = correction;
            }
            kc.localBarrier();
            for (int e = tid; e < TILE * d; e += THREADS) {
                int r = e / d;
                int x = e - r * d;
                float a = acc[r * ROW + x] * rescale[r];
                for (int c = 0; c < TILE; c++) {
                    a += p[r * TILE + c] * vs[c * ROW + x];
                }
                acc[r * ROW + x] = a;
            }
        }
        kc.localBarrier();
        int out = args.get(3);
        for (int e = tid; e < rows * d; e += THREADS) {
            int r = e / d;
            int x = e - r * d;
            float l = rowSum[r];
            heap.set(out + ((q0 + r) * hq + h) * d + x, l > 0f ? acc[r * ROW + x] / l : 0f);
        }
        if (tid < rows) {
            float l = rowSum[tid];
            heap.set(args.get(4) + (q0 + tid) * hq + h, l > 0f ? rowMax[tid] + TornadoMath.log(l) : NEG_INF);
        }
    }

    /**
     * Backward, key side: one group owns a key tile of one key/value head and adds to its rows of
     * dk and dv the contributions of every query head of its group and every query tile that can
     * see it, so no two groups write the same rows. Groups = ceil(Sk / TILE) * Hkv.
     */
    public static void flashBackwardKeys(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        float[] ks = kc.allocateFloatLocalArray(TILE * ROW);
        float[] vs = kc.allocateFloatLocalArray(TILE * ROW);
        float[] qs = kc.allocateFloatLocalArray(TILE * ROW);
        float[] dos = kc.allocateFloatLocalArray(TILE * ROW);
        float[] p = kc.allocateFloatLocalArray(TILE * TILE);
        float[] ds = kc.allocateFloatLocalArray(TILE * TILE);
        float[] lseRow = kc.allocateFloatLocalArray(TILE);
        float[] dRow = kc.allocateFloatLocalArray(TILE);
        int sq = args.get(9);
        int sk = args.get(10);
        int hq = args.get(11);
        int hkv = args.get(12);
        int d = args.get(13);
        int causal = args.get(14);
        int shift = args.get(15);
        float scale = scalars.get(0);
        int tid = kc.localIdx;
        int kTiles = (sk + TILE - 1) / TILE;
        int kvh = kc.groupIdx / kTiles;
        int k0 = (kc.groupIdx - kvh * kTiles) * TILE;
        int kn = TornadoMath.min(TILE, sk - k0);
        int group = hq / hkv;

        for (int e = tid; e < TILE * d; e += THREADS) {
            int r = e / d;
            int x = e - r * d;
            ks[r * ROW + x] = tileElement(heap, args.get(1), k0, kn, hkv, kvh, d, r, x);
            vs[r * ROW + x] = tileElement(heap, args.get(2), k0, kn, hkv, kvh, d, r, x);
        }
        // The first query row that sees key k0 under the mask: i + shift >= k0.
        int firstRow = causal == 0 ? 0 : TornadoMath.min(sq, TornadoMath.max(0, k0 - shift));
        for (int h = kvh * group; h < (kvh + 1) * group; h++) {
            for (int q0 = firstRow - firstRow % TILE; q0 < sq; q0 += TILE) {
                int rows = TornadoMath.min(TILE, sq - q0);
                kc.localBarrier();
                for (int e = tid; e < TILE * d; e += THREADS) {
                    int r = e / d;
                    int x = e - r * d;
                    qs[r * ROW + x] = tileElement(heap, args.get(0), q0, rows, hq, h, d, r, x);
                    dos[r * ROW + x] = tileElement(heap, args.get(5), q0, rows, hq, h, d, r, x);
                }
                if (tid < TILE) {
                    int row = ((q0 + tid) * hq + h) * d;
                    lseRow[tid] = tid < rows ? heap.get(args.get(4) + (q0 + tid) * hq + h) : NEG_INF;
                    dRow[tid] = tid < rows ? outputDot(heap, args.get(5), args.get(3), row, d) : 0f;
                }
                kc.localBarrier();
                for (int e = tid; e < TILE * TILE; e += THREADS) {
                    int r = e / TILE;
                    int c = e - r * TILE;
                    float pv = 0f;
                    float dsv = 0f;
                    if (c < visibleInRow(causal, r, rows, kn, q0 + shift - k0)) {
                        float qk = 0f;
                        float dv = 0f;
                        for (int x = 0; x < d; x++) {
                            qk += qs[r * ROW + x] * ks[c * ROW + x];
                            dv += dos[r * ROW + x] * vs[c * ROW + x];
                        }
                        // A row whose final lse is -inf saw no key at all: no gradient.
                        pv = lseRow[r] == NEG_INF ? 0f : TornadoMath.exp(scale * qk - lseRow[r]);
                        dsv = pv * (dv - dRow[r]);
                    }
                    p[e] = pv;
                    ds[e] = dsv;
                }
                kc.localBarrier();
                for (int e = tid; e < kn * d; e += THREADS) {
                    int c = e / d;
                    int x = e - c * d;
                    float gk = 0f;
                    float gv = 0f;
                    for (int r = 0; r < TILE; r++) {
                        gk += ds[r * TILE + c] * qs[r * ROW + x];
                        gv += p[r * TILE + c] * dos[r * ROW + x];
                    }
                    int at = ((k0 + c) * hkv + kvh) * d + x;
                    heap.set(args.get(7) + at, heap.get(args.get(7) + at) + scale * gk);
                    heap.set(args.get(8) + at, heap.get(args.get(8) + at) + gv);
                }
            }
        }
    }

    /** Backward, query side: one group owns a query tile of one head and adds its dq. Groups = ceil(Sq / TILE) * Hq. */
    public static void flashBackwardQueries(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        float[] qs = kc.allocateFloatLocalArray(TILE * ROW);
        float[] dos = kc.allocateFloatLocalArray(TILE * ROW);
        float[] ks = kc.allocateFloatLocalArray(TILE * ROW);
        float[] vs = kc.allocateFloatLocalArray(TILE * ROW);
        float[] acc = kc.allocateFloatLocalArray(TILE * ROW);
        float[] ds = kc.allocateFloatLocalArray(TILE * TILE);
        float[] lseRow = kc.allocateFloatLocalArray(TILE);
        float[] dRow = kc.allocateFloatLocalArray(TILE);
        int sq = args.get(9);
        int sk = args.get(10);
        int hq = args.get(11);
        int hkv = args.get(12);
        int d = args.get(13);
        int causal = args.get(14);
        int shift = args.get(15);
        float scale = scalars.get(0);
        int tid = kc.localIdx;
        int qTiles = (sq + TILE - 1) / TILE;
        int h = kc.groupIdx / qTiles;
        int q0 = (kc.groupIdx - h * qTiles) * TILE;
        int kvh = h / (hq / hkv);
        int rows = TornadoMath.min(TILE, sq - q0);

        for (int e = tid; e < TILE * d; e += THREADS) {
            int r = e / d;
            int x = e - r * d;
            qs[r * ROW + x] = tileElement(heap, args.get(0), q0, rows, hq, h, d, r, x);
            dos[r * ROW + x] = tileElement(heap, args.get(5), q0, rows, hq, h, d, r, x);
            acc[r * ROW + x] = 0f;
        }
        if (tid < TILE) {
            int row = ((q0 + tid) * hq + h) * d;
            lseRow[tid] = tid < rows ? heap.get(args.get(4) + (q0 + tid) * hq + h) : NEG_INF;
            dRow[tid] = tid < rows ? outputDot(heap, args.get(5), args.get(3), row, d) : 0f;
        }
        int keys = visibleKeys(causal, q0 + rows - 1, shift, sk);
        for (int k0 = 0; k0 < keys; k0 += TILE) {
            int kn = TornadoMath.min(TILE, sk - k0);
            kc.localBarrier();
            for (int e = tid; e < TILE * d; e += THREADS) {
                int r = e / d;
                int x = e - r * d;
                ks[r * ROW + x] = tileElement(heap, args.get(1), k0, kn, hkv, kvh, d, r, x);
                vs[r * ROW + x] = tileElement(heap, args.get(2), k0, kn, hkv, kvh, d, r, x);
            }
            kc.localBarrier();
            for (int e = tid; e < TILE * TILE; e += THREADS) {
                int r = e / TILE;
                int c = e - r * TILE;
                float dsv = 0f;
                if (c < visibleInRow(causal, r, rows, kn, q0 + shift - k0)) {
                    float qk = 0f;
                    float dv = 0f;
                    for (int x = 0; x < d; x++) {
                        qk += qs[r * ROW + x] * ks[c * ROW + x];
                        dv += dos[r * ROW + x] * vs[c * ROW + x];
                    }
                    dsv = lseRow[r] == NEG_INF ? 0f : TornadoMath.exp(scale * qk - lseRow[r]) * (dv - dRow[r]);
                }
                ds[e] = dsv;
            }
            kc.localBarrier();
            for (int e = tid; e < TILE * d; e += THREADS) {
                int r = e / d;
                int x = e - r * d;
                float a = acc[r * ROW + x];
                for (int c = 0; c < TILE; c++) {
                    a += ds[r * TILE + c] * ks[c * ROW + x];
                }
                acc[r * ROW + x] = a;
            }
        }
        for (int e = tid; e < rows * d; e += THREADS) {
            int r = e / d;
            int at = args.get(6) + ((q0 + r) * hq + h) * d + e - r * d;
            heap.set(at, heap.get(at) + scale * acc[r * ROW + e - r * d]);
        }
    }

    /**
     * Folds a partial result into the running one by log-sum-exp weights, one work-item per row:
     * int slots 0 out, 1 lse, 2 partOut, 3 partLse, 4 rows (S * H), 5 D. A part with lse -inf
     * contributes nothing; a running lse of -inf takes the part as it is.
     */
    public static void lseMerge(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        int i = kc.globalIdx;
        if (i < args.get(4)) {
            int d = args.get(5);
            int out = args.get(0) + i * d;
            int part = args.get(2) + i * d;
            float a = heap.get(args.get(1) + i);
            float b = heap.get(args.get(3) + i);
            if (b != NEG_INF) {
                float m = TornadoMath.max(a, b);
                float wa = a == NEG_INF ? 0f : TornadoMath.exp(a - m);
                float wb = TornadoMath.exp(b - m);
                float sum = wa + wb;
                for (int x = 0; x < d; x++) {
                    float kept = a == NEG_INF ? 0f : (wa / sum) * heap.get(out + x);
                    heap.set(out + x, kept + (wb / sum) * heap.get(part + x));
                }
                heap.set(args.get(1) + i, m + TornadoMath.log(sum));
            }
        }
    }
}
