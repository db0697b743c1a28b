package dev.longbow.tornado.vm;

import static dev.longbow.tornado.vm.Kernels.THREADS;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * Data movement and elementwise arithmetic: one work-item per output element (a guard drops the
 * padding of the last group). Int slots hold heap offsets and extents, float slots the scalars.
 */
final class TensorKernels {
    /** Work-groups of {@link #sumOfSquares}: each leaves one partial sum, added up in double on the host. */
    static final int SUM_GROUPS = 64;

    private TensorKernels() {
    }

    /** 0 src, 1 dst, 2 n. */
    public static void copy(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        int i = kc.globalIdx;
        if (i < args.get(2)) {
            heap.set(args.get(1) + i, heap.get(args.get(0) + i));
        }
    }

    /** 0 src (int32), 1 dst, 2 n: the int32 values as floats. */
    public static void intToFloat(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        int i = kc.globalIdx;
        if (i < args.get(2)) {
            heap.set(args.get(1) + i, ints.get(args.get(0) + i));
        }
    }

    /** 0 t, 1 n; value in float slot 0. */
    public static void fill(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        int i = kc.globalIdx;
        if (i < args.get(1)) {
            heap.set(args.get(0) + i, scalars.get(0));
        }
    }

    /** 0 x, 1 y, 2 n; y += alpha x with alpha in float slot 0. */
    public static void axpy(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        int i = kc.globalIdx;
        if (i < args.get(2)) {
            int y = args.get(1) + i;
            heap.set(y, heap.get(y) + scalars.get(0) * heap.get(args.get(0) + i));
        }
    }

    /** 0 t, 1 n; t *= alpha with alpha in float slot 0. */
    public static void scale(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        int i = kc.globalIdx;
        if (i < args.get(1)) {
            int t = args.get(0) + i;
            heap.set(t, heap.get(t) * scalars.get(0));
        }
    }

    /** 0 t, 1 n, 2 partials: {@link #SUM_GROUPS} groups each write the sum of squares of their share. */
    public static void sumOfSquares(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        float[] part = kc.allocateFloatLocalArray(THREADS);
        int tid = kc.localIdx;
        int t = args.get(0);
        int n = args.get(1);
        float s = 0f;
        for (int i = kc.groupIdx * THREADS + tid; i < n; i += SUM_GROUPS * THREADS) {
            float x = heap.get(t + i);
            s += x * x;
        }
        part[tid] = s;
        kc.localBarrier();
        for (int stride = THREADS / 2; stride > 0; stride /= 2) {
            if (kc.localIdx < stride) {
                part[kc.localIdx] += part[kc.localIdx + stride];
            }
            kc.localBarrier();
        }
        if (tid == 0) {
            heap.set(args.get(2) + kc.groupIdx, part[0]);
        }
    }

    /** 0 src [A, B, R], 1 dst [B, A, R], 2 A, 3 B, 4 R. */
    public static void swapLeadingDims(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        int i = kc.globalIdx;
        int a = args.get(2);
        int b = args.get(3);
        int r = args.get(4);
        if (i < a * b * r) {
            int x = i % r;
            int row = i / r;
            int ai = row % a;
            int bi = row / a;
            heap.set(args.get(1) + i, heap.get(args.get(0) + (ai * b + bi) * r + x));
        }
    }

    /** 0 src [S, H, D], 1 dst [S, H*rep, D], 2 S, 3 H, 4 rep, 5 D: dst head h is src head h / rep. */
    public static void repeatHeads(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        int i = kc.globalIdx;
        int heads = args.get(3);
        int rep = args.get(4);
        int d = args.get(5);
        if (i < args.get(2) * heads * rep * d) {
            int x = i % d;
            int row = i / d;
            int h = row % (heads * rep);
            int s = row / (heads * rep);
            heap.set(args.get(1) + i, heap.get(args.get(0) + (s * heads + h / rep) * d + x));
        }
    }

    /** Same slots as {@link #repeatHeads}, the adjoint: dst head h is the sum of src heads h*rep .. h*rep+rep-1. */
    public static void sumRepeatedHeads(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        int i = kc.globalIdx;
        int heads = args.get(3);
        int rep = args.get(4);
        int d = args.get(5);
        if (i < args.get(2) * heads * d) {
            int x = i % d;
            int row = i / d;
            int src = args.get(0) + (row * rep) * d + x;
            float s = 0f;
            for (int j = 0; j < rep; j++) {
                s += heap.get(src + j * d);
            }
            heap.set(args.get(1) + i, s);
        }
    }
}
