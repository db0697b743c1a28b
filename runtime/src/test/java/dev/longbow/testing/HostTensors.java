package dev.longbow.testing;

import dev.longbow.tensor.DType;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;

/**
 * Host tensors for tests, all freed together on close: filled with seeded random values, read
 * back as float64, compared by relative error. The arena is shared because backends compute on
 * pool threads and in-process ranks hand tensors to each other.
 */
public final class HostTensors implements AutoCloseable {
    private final Arena arena = Arena.ofShared();

    public Tensor zeros(DType dtype, long... dims) {
        Shape shape = Shape.of(dims);
        return new Tensor(arena.allocate(Math.max(1, shape.numel() * dtype.byteSize()), Slab.ALIGNMENT)
                .asSlice(0, shape.numel() * dtype.byteSize()), dtype, shape, Placement.HOST);
    }

    /** Standard normal values, rounded to the dtype. */
    public Tensor random(DType dtype, Random random, long... dims) {
        Tensor t = zeros(dtype, dims);
        for (long i = 0; i < t.numel(); i++) {
            t.setFloat(i, (float) random.nextGaussian());
        }
        return t;
    }

    public Tensor of(DType dtype, double[] values, long... dims) {
        Tensor t = zeros(dtype, dims);
        set(t, values);
        return t;
    }

    public Tensor filled(DType dtype, float value, long... dims) {
        Tensor t = zeros(dtype, dims);
        for (long i = 0; i < t.numel(); i++) {
            t.setFloat(i, value);
        }
        return t;
    }

    /** The tensor's values, widened exactly to float64. */
    public static double[] toDoubles(Tensor t) {
        double[] a = new double[Math.toIntExact(t.numel())];
        for (int i = 0; i < a.length; i++) {
            a[i] = t.getFloat(i);
        }
        return a;
    }

    /** Stores {@code values} into t, rounding to its dtype. */
    public static void set(Tensor t, double[] values) {
        if (values.length != t.numel()) {
            throw new IllegalArgumentException(values.length + " values for " + t);
        }
        for (int i = 0; i < values.length; i++) {
            t.setFloat(i, (float) values[i]);
        }
    }

    /** {@code ||actual - expected|| / ||expected||} (2-norms); the absolute error when expected is 0. */
    public static double relativeError(double[] actual, double[] expected) {
        if (actual.length != expected.length) {
            throw new IllegalArgumentException("lengths differ: " + actual.length + " vs " + expected.length);
        }
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < actual.length; i++) {
            diff += (actual[i] - expected[i]) * (actual[i] - expected[i]);
            norm += expected[i] * expected[i];
        }
        return norm == 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
    }

    /**
     * Fails unless {@code actual} is within {@code tolerance} relative error of {@code expected}.
     * Infinite expected entries (the -inf lse of rows that see no key) must be matched exactly and
     * are left out of the norms; a NaN anywhere fails.
     */
    public static void assertClose(String what, double[] actual, double[] expected, double tolerance) {
        double[] a = actual.clone();
        double[] e = expected.clone();
        for (int i = 0; i < a.length; i++) {
            if (Double.isNaN(a[i]) || Double.isInfinite(e[i]) || Double.isInfinite(a[i])) {
                if (a[i] != e[i]) {
                    throw new AssertionError(what + ": element " + i + " is " + a[i] + ", expected " + e[i]);
                }
                a[i] = 0;
                e[i] = 0;
            }
        }
        double error = relativeError(a, e);
        if (!(error <= tolerance)) {
            throw new AssertionError(what + ": relative error " + error + " exceeds " + tolerance);
        }
    }

    /** A fresh seed per run, printed so a failure can be replayed with {@code -Dlongbow.seed=...}. */
    public static long seed(String test) {
        long seed = Long.getLong("longbow.seed", System.nanoTime());
        System.out.println(test + ": seed " + seed + " (replay with -Dlongbow.seed=" + seed + ")");
        return seed;
    }

    @Override
    public void close() {
        arena.close();
    }
}
