package dev.longbow.backend;

import dev.longbow.tensor.Tensor;

/** Data movement, layout permutations and the elementwise arithmetic the schemes and optimiser need. */
public interface TensorOps {

    /** {@code dst = src}: same dtype and element count; either may be host or device memory. */
    void copy(Tensor src, Tensor dst);

    /** {@code dst = src} converted to {@code dst}'s dtype, rounding to nearest even. */
    void convert(Tensor src, Tensor dst);

    /**
     * Sets every element of {@code t} to {@code value}.
     *
     * @param t     the tensor
     * @param value the value, rounded to its dtype
     */
    void fill(Tensor t, float value);

    /** {@code y += alpha * x}. */
    void axpy(float alpha, Tensor x, Tensor y);

    /** {@code t *= alpha}. */
    void scale(Tensor t, float alpha);

    /** The sum of squares of {@code t}'s elements, in double; waits for the result. */
    double sumOfSquares(Tensor t);

    /**
     * Swaps the two outermost dimensions: {@code src [A, B, rest...]} to {@code dst [B, A, rest...]}.
     * With A = tokens and B = head groups this is the packing around Ulysses' all-to-all.
     */
    void swapLeadingDims(Tensor src, Tensor dst);

    /** {@code dst [S, H*r, D]}: head {@code h} of dst is head {@code h / r} of {@code src [S, H, D]}. */
    void repeatHeads(Tensor src, Tensor dst);

    /** Adjoint of {@link #repeatHeads}: {@code dst [S, H, D]} head h = sum of src heads {@code h*r .. h*r+r-1}. */
    void sumRepeatedHeads(Tensor src, Tensor dst);
}
