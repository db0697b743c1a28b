package dev.longbow.tornado.vm;

import java.util.ArrayList;
import java.util.List;

/**
 * One kernel call as the host describes it: the argument slots, the grid, and the heap ranges
 * the kernel writes (so that handing memory to the host copies back exactly those).
 */
final class Launch {
    /** Int argument slots every kernel can read; the flash kernels use the most. */
    static final int INT_SLOTS = 16;
    static final int FLOAT_SLOTS = 8;

    final Kernel kernel;
    final int[] ints = new int[INT_SLOTS];
    final float[] floats = new float[FLOAT_SLOTS];
    /** Global work-items along x and y. */
    long globalX;
    long globalY = 1;
    /** Written ranges as {@code [first element, element count]}. */
    final List<long[]> writes = new ArrayList<>();

    private Launch(Kernel kernel) {
        this.kernel = kernel;
    }

    static Launch of(Kernel kernel) {
        return new Launch(kernel);
    }

    Launch args(long... values) {
        if (values.length > INT_SLOTS) {
            throw new IllegalArgumentException(kernel + " takes at most " + INT_SLOTS + " int arguments, got " + values.length);
        }
        for (int i = 0; i < values.length; i++) {
            ints[i] = Math.toIntExact(values[i]);
        }
        return this;
    }

    Launch scalars(float... values) {
        System.arraycopy(values, 0, floats, 0, values.length);
        return this;
    }

    /** One work-item per element of {@code n}, padded to whole work-groups. */
    Launch items(long n) {
        globalX = Math.max(1, (n + kernel.localX - 1) / kernel.localX) * kernel.localX;
        return this;
    }

    /** {@code groups} work-groups of {@code kernel.localX} work-items. */
    Launch groups(long groups) {
        globalX = Math.max(1, groups) * kernel.localX;
        return this;
    }

    /** A two-dimensional grid covering {@code x} by {@code y} items. */
    Launch grid(long x, long y) {
        globalX = Math.max(1, (x + kernel.localX - 1) / kernel.localX) * kernel.localX;
        globalY = Math.max(1, (y + kernel.localY - 1) / kernel.localY) * kernel.localY;
        return this;
    }

    Launch writes(long first, long count) {
        writes.add(new long[] {first, count});
        return this;
    }
}
