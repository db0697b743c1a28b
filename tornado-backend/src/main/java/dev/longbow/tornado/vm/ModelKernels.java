package dev.longbow.tornado.vm;

import static dev.longbow.tornado.vm.Kernels.NEG_INF;
import static dev.longbow.tornado.vm.Kernels.THREADS;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The decoder's kernels besides attention. Row-wise kernels (norms, cross-entropy) give one
 * work-group to a row and reduce in local memory; the rest are one work-item per element, except
 * the column sums ({@link #rmsNormWeightGrad}, {@link #embeddingBackward}), which give a column to
 * a work-item so that accumulation needs no atomics and is the same on every run.
 */
final class ModelKernels {
    /** Matmul tile edge; its work-groups are {@code MM_TILE x MM_TILE}. */
    static final int MM_TILE = 16;

    private ModelKernels() {
    }

    /**
     * {@code c = alpha op(a) op(b) + beta c}, op(a) {@code [M, K]}, op(b) {@code [K, N]}; a 2-D grid
     * over (N, M), each group one tile of c, staging tiles of op(a) and op(b) in local memory.
     * Slots: 0 a, 1 b, 2 c, 3 M, 4 N, 5 K, 6 transA, 7 transB; floats: 0 alpha, 1 beta (0: c is not read).
     */
    public static void matmul(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        float[] as = kc.allocateFloatLocalArray(MM_TILE * MM_TILE);
        float[] bs = kc.allocateFloatLocalArray(MM_TILE * MM_TILE);
        int a = args.get(0);
        int b = args.get(1);
        int m = args.get(3);
        int n = args.get(4);
        int k = args.get(5);
        int transA = args.get(6);
        int transB = args.get(7);
        int lx = kc.localIdx;
        int ly = kc.localIdy;
        int row = kc.groupIdy * MM_TILE + ly;
        int col = kc.groupIdx * MM_TILE + lx;
        float sum = 0f;
        for (int k0 = 0; k0 < k; k0 += MM_TILE) {
            int ka = k0 + lx;
            int kb = k0 + ly;
            float av = 0f;
            if (row < m && ka < k) {
                av = heap.get(a + (transA == 0 ? row * k + ka : ka * m + row));
            }
            float bv = 0f;
            if (kb < k && col < n) {
                bv = heap.get(b + (transB == 0 ? kb * n + col : col * k + kb));
            }
            as[ly * MM_TILE + lx] = av;
            bs[ly * MM_TILE + lx] = bv;
            kc.localBarrier();
            for (int j = 0; j < MM_TILE; j++) {
                sum += as[ly * MM_TILE + j] * bs[j * MM_TILE + lx];
            }
            kc.localBarrier();
        }
        if (row < m && col < n) {
            int at = args.get(2) + row * n + col;
            float beta = scalars.get(1);
            heap.set(at, scalars.get(0) * sum + (beta == 0f ? 0f : beta * heap.get(at)));
        }
    }

    /** Slots: 0 x, 1 weight, 2 y, 3 rstd, 4 width; float 0 eps. One group per row. */
    public static void rmsNormForward(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        float[] part = kc.allocateFloatLocalArray(THREADS);
        int width = args.get(4);
        int x = args.get(0) + kc.groupIdx * width;
        float s = 0f;
        for (int j = kc.localIdx; j < width; j += THREADS) {
            float v = heap.get(x + j);
            s += v * v;
        }
        part[kc.localIdx] = s;
        kc.localBarrier();
        for (int stride = THREADS / 2; stride > 0; stride /= 2) {
            if (kc.localIdx < stride) {
                part[kc.localIdx] += part[kc.localIdx + stride];
            }
            kc.localBarrier();
        }
        float rstd = 1f / TornadoMath.sqrt(part[0] / width + scalars.get(0));
        int y = args.get(2) + kc.groupIdx * width;
        for (int j = kc.localIdx; j < width; j += THREADS) {
            heap.set(y + j, heap.get(x + j) * rstd * heap.get(args.get(1) + j));
        }
        if (kc.localIdx == 0) {
            heap.set(args.get(3) + kc.groupIdx, rstd);
        }
    }

    /**
     * {@code dx = rstd w dy - rstd^3 x mean(dy w x)}; slots: 0 x, 1 weight, 2 rstd, 3 dy, 4 dx,
     * 5 width. One group per row.
     */
    public static void rmsNormBackward(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        float[] part = kc.allocateFloatLocalArray(THREADS);
        int width = args.get(5);
        int w = args.get(1);
        int x = args.get(0) + kc.groupIdx * width;
        int dy = args.get(3) + kc.groupIdx * width;
        float s = 0f;
        for (int j = kc.localIdx; j < width; j += THREADS) {
            s += heap.get(dy + j) * heap.get(w + j) * heap.get(x + j);
        }
        part[kc.localIdx] = s;
        kc.localBarrier();
        for (int stride = THREADS / 2; stride > 0; stride /= 2) {
            if (kc.localIdx < stride) {
                part[kc.localIdx] += part[kc.localIdx + stride];
            }
            kc.localBarrier();
        }
        float rstd = heap.get(args.get(2) + kc.groupIdx);
        float correction = rstd * rstd * rstd * part[0] / width;
        int dx = args.get(4) + kc.groupIdx * width;
        for (int j = kc.localIdx; j < width; j += THREADS) {
            heap.set(dx + j, rstd * heap.get(w + j) * heap.get(dy + j) - correction * heap.get(x + j));
        }
    }

    /** {@code dweight += sum over rows of dy x rstd}; slots: 0 x, 1 rstd, 2 dy, 3 dweight, 4 rows, 5 width. One work-item per column. */
    public static void rmsNormWeightGrad(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        int j = kc.globalIdx;
        int width = args.get(5);
        if (j < width) {
            float s = 0f;
            for (int r = 0; r < args.get(4); r++) {
                s += heap.get(args.get(2) + r * width + j) * heap.get(args.get(0) + r * width + j) * heap.get(args.get(1) + r);
            }
            int at = args.get(3) + j;
            heap.set(at, heap.get(at) + s);
        }
    }

    /**
     * Rotary embedding in place, "rotate half" pairs {@code (i, i + D/2)} at angle
     * {@code position * theta^(-2i/D)}, negated for the inverse; the angle is computed in double,
     * since positions of long sequences are large. Slots: 0 x [S, H, D], 1 positions (int32 [S]),
     * 2 S, 3 H, 4 D, 5 inverse; float 0 theta. One work-item per pair.
     */
    public static void rope(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        int i = kc.globalIdx;
        int heads = args.get(3);
        int d = args.get(4);
        int half = d / 2;
        if (i < args.get(2) * heads * half) {
            int pair = i % half;
            int row = i / half;
            int s = row / heads;
            double angle = ints.get(args.get(1) + s) * TornadoMath.pow((double) scalars.get(0), -2.0 * pair / d);
            float cos = (float) TornadoMath.cos(angle);
            float sin = args.get(5) == 0 ? (float) TornadoMath.sin(angle) : -(float) TornadoMath.sin(angle);
            int at = args.get(0) + row * d + pair;
            float x1 = heap.get(at);
            float x2 = heap.get(at + half);
            heap.set(at, x1 * cos - x2 * sin);
            heap.set(at + half, x2 * cos + x1 * sin);
        }
    }

    /** {@code out = silu(gate) up}; slots: 0 gate, 1 up, 2 out, 3 n. */
    public static void swigluForward(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        int i = kc.globalIdx;
        if (i < args.get(3)) {
            float g = heap.get(args.get(0) + i);
            heap.set(args.get(2) + i, g / (1f + TornadoMath.exp(-g)) * heap.get(args.get(1) + i));
        }
    }

    /** Slots: 0 gate, 1 up, 2 dout, 3 dgate, 4 dup, 5 n. */
    public static void swigluBackward(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        int i = kc.globalIdx;
        if (i < args.get(5)) {
            float g = heap.get(args.get(0) + i);
            float u = heap.get(args.get(1) + i);
            float dy = heap.get(args.get(2) + i);
            float sig = 1f / (1f + TornadoMath.exp(-g));
            heap.set(args.get(3) + i, dy * u * sig * (1f + g * (1f - sig)));
            heap.set(args.get(4) + i, dy * g * sig);
        }
    }

    /** {@code out[s] = table[tokens[s]]}; slots: 0 table, 1 tokens (int32), 2 out, 3 S, 4 width. */
    public static void embeddingForward(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        int i = kc.globalIdx;
        int width = args.get(4);
        if (i < args.get(3) * width) {
            int s = i / width;
            int token = ints.get(args.get(1) + s);
            heap.set(args.get(2) + i, heap.get(args.get(0) + token * width + i - s * width));
        }
    }

    /** {@code dtable[tokens[s]] += dout[s]}; slots: 0 tokens (int32), 1 dout, 2 dtable, 3 S, 4 width. One work-item per column. */
    public static void embeddingBackward(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        int j = kc.globalIdx;
        int width = args.get(4);
        if (j < width) {
            for (int s = 0; s < args.get(3); s++) {
                int at = args.get(2) + ints.get(args.get(0) + s) * width + j;
                heap.set(at, heap.get(at) + heap.get(args.get(1) + s * width + j));
            }
        }
    }

    /**
     * Softmax cross-entropy of one row per group, the logits replaced by their scaled gradient.
     * Slots: 0 logits [R, V], 1 targets (int32 [R], -1 masks the row), 2 losses [R], 3 V; float 0 gradScale.
     */
    public static void crossEntropy(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        float[] part = kc.allocateFloatLocalArray(THREADS);
        int tid = kc.localIdx;
        int vocab = args.get(3);
        int row = args.get(0) + kc.groupIdx * vocab;
        int target = ints.get(args.get(1) + kc.groupIdx);
        float m = NEG_INF;
        for (int j = tid; j < vocab; j += THREADS) {
            m = TornadoMath.max(m, heap.get(row + j));
        }
        part[tid] = m;
        kc.localBarrier();
        for (int stride = THREADS / 2; stride > 0; stride /= 2) {
            if (kc.localIdx < stride) {
                part[kc.localIdx] = TornadoMath.max(part[kc.localIdx], part[kc.localIdx + stride]);
            }
            kc.localBarrier();
        }
        float max = part[0];
        kc.localBarrier();
        float s = 0f;
        for (int j = tid; j < vocab; j += THREADS) {
            s += TornadoMath.exp(heap.get(row + j) - max);
        }
        part[tid] = s;
        kc.localBarrier();
        for (int stride = THREADS / 2; stride > 0; stride /= 2) {
            if (kc.localIdx < stride) {
                part[kc.localIdx] += part[kc.localIdx + stride];
            }
            kc.localBarrier();
        }
        float sum = part[0];
        if (tid == 0) {
            heap.set(args.get(2) + kc.groupIdx, target < 0 ? 0f : TornadoMath.log(sum) + max - heap.get(row + target));
        }
        kc.localBarrier();
        float scale = target < 0 ? 0f : scalars.get(0);
        for (int j = tid; j < vocab; j += THREADS) {
            float p = TornadoMath.exp(heap.get(row + j) - max) / sum;
            heap.set(row + j, scale * (j == target ? p - 1f : p));
        }
    }

    /**
     * One AdamW step, decoupled weight decay; slots: 0 param, 1 grad, 2 m, 3 v, 4 n; floats: 0 lr,
     * 1 beta1, 2 beta2, 3 eps, 4 weightDecay, 5 and 6 the bias corrections {@code 1 - beta^step}.
     */
    public static void adamw(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        int i = kc.globalIdx;
        if (i < args.get(4)) {
            float beta1 = scalars.get(1);
            float beta2 = scalars.get(2);
            float g = heap.get(args.get(1) + i);
            float m = beta1 * heap.get(args.get(2) + i) + (1f - beta1) * g;
            float v = beta2 * heap.get(args.get(3) + i) + (1f - beta2) * g * g;
            heap.set(args.get(2) + i, m);
            heap.set(args.get(3) + i, v);
            float update = (m / scalars.get(5)) / (TornadoMath.sqrt(v / scalars.get(6)) + scalars.get(3));
            int p = args.get(0) + i;
            float param = heap.get(p);
            heap.set(p, param - scalars.get(0) * (update + scalars.get(4) * param));
        }
    }
}
