package dev.longbow.kernels;

import dev.longbow.tensor.DType;

/**
 * Comparisons for GPU tests, with failures that say where: the 2-norm relative error over the
 * tensor, and the element that is furthest off (or the first NaN where a finite value was due,
 * which usually means an element no thread wrote).
 */
final class Compare {
    private Compare() {
    }

    /** The relative error a result in {@code dtype} may carry against a float64 reference. */
    static double tolerance(DType dtype) {
        return switch (dtype) {
            case BF16 -> 1e-2;
            case F16 -> 2e-3;
            case F32 -> 1e-5;
            case I32 -> 0;
        };
    }

    static void close(String what, double[] actual, double[] expected, double tolerance) {
        if (actual.length != expected.length) {
            throw new AssertionError(what + ": " + actual.length + " values, expected " + expected.length);
        }
        double diff = 0;
        double norm = 0;
        int worst = -1;
        double worstError = -1;
        for (int i = 0; i < actual.length; i++) {
            double a = actual[i];
            double e = expected[i];
            if (Double.isNaN(a) != Double.isNaN(e) || Double.isInfinite(e) && a != e) {
                throw new AssertionError(what + ": element " + i + " of " + actual.length + " is " + a + ", expected " + e
                        + (Double.isNaN(a) ? " (NaN: poisoned output never written?)" : ""));
            }
            if (Double.isNaN(e) || Double.isInfinite(e)) {
                continue;
            }
            diff += (a - e) * (a - e);
            norm += e * e;
            if (Math.abs(a - e) > worstError) {
                worstError = Math.abs(a - e);
                worst = i;
            }
        }
        double error = norm == 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
        if (!(error <= tolerance)) {
            throw new AssertionError(what + ": relative error " + error + " exceeds " + tolerance + "; worst element " + worst
                    + " of " + actual.length + " is " + actual[worst] + ", expected " + expected[worst]);
        }
    }

    /** Bit-for-bit equal values (copies, conversions, fills). */
    static void exact(String what, double[] actual, double[] expected) {
        if (actual.length != expected.length) {
            throw new AssertionError(what + ": " + actual.length + " values, expected " + expected.length);
        }
        for (int i = 0; i < actual.length; i++) {
            if (Double.compare(actual[i], expected[i]) != 0) {
                throw new AssertionError(what + ": element " + i + " of " + actual.length + " is " + actual[i] + ", expected " + expected[i]);
            }
        }
    }
}
