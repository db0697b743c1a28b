package dev.longbow.parallel;

import dev.longbow.tensor.DType;

/**
 * The attention a scheme is built for: the whole sequence's length and the head layout, the same
 * on every rank. Each rank's shard has {@code seqLen / ranks} tokens.
 *
 * @param dtype the element type of q, k, v, out and dout (lse is always fp32)
 */
public record AttentionShape(long seqLen, int heads, int kvHeads, int headDim, DType dtype) {

    /** Rows of one rank's shard. */
    public long localLen(int ranks) {
        return seqLen / ranks;
    }

    /** {@code [seqLen, heads, headDim, ...]} as integers, for comparing shapes across ranks. */
    int[] describe() {
        return new int[] {Math.toIntExact(seqLen), heads, kvHeads, headDim, dtype.ordinal()};
    }
}
