package dev.longbow.kernels;

import dev.longbow.tensor.DType;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Tensor;
import java.util.Arrays;

/** Argument checks shared by the CUDA op classes; every message names the op, the tensor and the rule. */
final class Checks {
    private Checks() {
    }

    static void requireDevice(String op, Tensor... tensors) {
        for (Tensor t : tensors) {
            if (t.placement() != Placement.DEVICE) {
                throw new IllegalArgumentException(op + ": the cuda backend computes on DEVICE tensors, got " + t
                        + "; copy it to the device first (allocate through the backend)");
            }
        }
    }

    static void requireFloat(String op, String name, Tensor t) {
        if (!t.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException(op + ": " + name + " must be F32, BF16 or F16, got " + t);
        }
    }

    static void requireDType(String op, String name, Tensor t, DType... allowed) {
        if (!Arrays.asList(allowed).contains(t.dtype())) {
            throw new IllegalArgumentException(op + ": " + name + " must be " + (allowed.length == 1 ? allowed[0] : "one of " + Arrays.toString(allowed))
                    + ", got " + t);
        }
    }

    static void requireSameShape(String op, Tensor a, Tensor b) {
        if (!a.shape().equals(b.shape())) {
            throw new IllegalArgumentException(op + ": shapes differ: " + a + " vs " + b);
        }
    }

    static void requireSameLayout(String op, Tensor a, Tensor b) {
        if (!a.sameLayout(b)) {
            throw new IllegalArgumentException(op + ": needs the same dtype and shape: " + a + " vs " + b);
        }
    }

    static void requireShape(String op, String name, Tensor t, long... dims) {
        if (!t.shape().equals(Shape.of(dims))) {
            throw new IllegalArgumentException(op + ": " + name + " must be " + Shape.of(dims) + ", got " + t);
        }
    }

    static void requireRank(String op, String name, Tensor t, int rank) {
        if (t.shape().rank() != rank) {
            throw new IllegalArgumentException(op + ": " + name + " must have " + rank + " dimensions, got " + t);
        }
    }

    /** An extent passed to a kernel as a 32-bit int. */
    static int int32(String op, String what, long value) {
        if (value > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(op + ": " + what + " " + value + " exceeds the kernel's 32-bit limit " + Integer.MAX_VALUE);
        }
        return (int) value;
    }

    /** The widest of 16, 8, 4, 2 bytes dividing {@code rowBytes} and every tensor's address: the word of a row copy. */
    static int wordBytes(long rowBytes, Tensor... tensors) {
        for (int w = 16; w > 2; w /= 2) {
            boolean fits = rowBytes % w == 0;
            for (Tensor t : tensors) {
                fits &= t.data().address() % w == 0;
            }
            if (fits) {
                return w;
            }
        }
        return 2;
    }
}
