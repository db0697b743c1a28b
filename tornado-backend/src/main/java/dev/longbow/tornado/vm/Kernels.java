package dev.longbow.tornado.vm;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * What every kernel shares. A kernel is a static method {@code (KernelContext, heap, ints, args,
 * scalars)}: {@code heap} is the device's fp32 memory, {@code ints} the same memory read as int32
 * (token ids, positions), {@code args} the call's heap offsets and extents and {@code scalars} its
 * float parameters, both uploaded with every launch. Loop strides are constants or arguments,
 * never work-group sizes, so a kernel that TornadoVM ran as plain Java would still terminate and
 * the launch check would report it.
 *
 * <p>TornadoVM 5.2 cannot compile a call that passes a local-memory array (its sketcher fails
 * copying the graph), so local reductions and tile loops are written out in each kernel; helpers
 * take scalars and heap offsets only.
 */
final class Kernels {
    /** Work-items per work-group of every one-dimensional kernel. */
    static final int THREADS = 64;
    static final float NEG_INF = Float.NEGATIVE_INFINITY;

    private Kernels() {
    }

    /**
     * The task of the graph that puts the heap on the device once: it names the heap and its int
     * view as arguments and never touches them.
     */
    public static void allocate(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
        if (kc.globalIdx < 0) {
            heap.set(0, ints.get(0));
        }
    }

    /**
     * Copies a staged window of the host heap into the device heap and its int view: slot 0 the
     * first element, 1 the count. {@code stage} and {@code intStage} are the same bytes.
     */
    public static void stageIn(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray stage, IntArray intStage) {
        int i = kc.globalIdx;
        if (i < args.get(1)) {
            heap.set(args.get(0) + i, stage.get(i));
            ints.set(args.get(0) + i, intStage.get(i));
        }
    }
}
