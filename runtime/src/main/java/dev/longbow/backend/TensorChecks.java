package dev.longbow.backend;

import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Tensor;

/**
 * The argument checks of {@link TensorOps} and {@link Backend#copyAsync} that do not depend on
 * where the tensors live. Every backend calls these, so all of them refuse the same calls with
 * the same message; checks about memory and kernels stay in each backend.
 */
public final class TensorChecks {
    private TensorChecks() {
    }

    /** A byte copy ({@code copy}, {@code copyAsync}): the same dtype and element count. */
    public static void requireSameDTypeAndCount(String op, Tensor src, Tensor dst) {
        if (src.dtype() != dst.dtype() || src.numel() != dst.numel()) {
            throw new IllegalArgumentException(op + " needs the same dtype and element count: " + src + " -> " + dst);
        }
    }

    /** An elementwise op over two tensors ({@code convert}, {@code axpy}). */
    public static void requireSameCount(String op, Tensor a, Tensor b) {
        if (a.numel() != b.numel()) {
            throw new IllegalArgumentException(op + ": element counts differ: " + a + " (" + a.numel() + ") vs " + b + " (" + b.numel() + ")");
        }
    }

    /** A layout op moves elements; it does not convert them. */
    public static void requireSameDType(String op, Tensor src, Tensor dst) {
        if (src.dtype() != dst.dtype()) {
            throw new IllegalArgumentException(op + " needs one dtype: " + src + " -> " + dst);
        }
    }

    /** {@code swapLeadingDims}: {@code dst} is {@code src [A, B, rest...]} as {@code [B, A, rest...]}, in one dtype. */
    public static void requireSwappedLeadingDims(Tensor src, Tensor dst) {
        if (src.shape().rank() < 2 || src.dtype() != dst.dtype()) {
            throw new IllegalArgumentException("swapLeadingDims needs rank >= 2 and one dtype: " + src + " -> " + dst);
        }
        Shape swapped = src.shape().with(0, src.dim(1)).with(1, src.dim(0));
        if (!dst.shape().equals(swapped)) {
            throw new IllegalArgumentException("swapLeadingDims " + src.shape() + " needs dst shape " + swapped + ", got " + dst.shape());
        }
    }

    /**
     * The repeat factor r between {@code few [S, H, D]} and {@code many [S, H*r, D]}: the source
     * and destination of {@code repeatHeads}, the destination and source of {@code sumRepeatedHeads}.
     */
    public static int headRepeats(String op, Tensor few, Tensor many) {
        if (few.shape().rank() != 3 || many.shape().rank() != 3 || few.dim(0) != many.dim(0)
                || few.dim(2) != many.dim(2) || few.dim(1) == 0 || many.dim(1) % few.dim(1) != 0) {
            throw new IllegalArgumentException(op + " needs [S, H, D] and [S, H*r, D], got " + few.shape() + " and " + many.shape());
        }
        return Math.toIntExact(many.dim(1) / few.dim(1));
    }
}
