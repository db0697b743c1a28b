package dev.longbow.parallel;

/**
 * The sizes a rank's schedule moves and holds for one attention call of {@code shape} on
 * {@code ranks} ranks: its shard of q, k, v, out in the shape's dtype and the fp32 accumulators
 * (outputs, log-sum-exp, gradients) every scheme keeps, and the kernel calls it issues.
 */
record ShardBytes(AttentionShape shape, int ranks) {
    static final int FP32 = 4;

    long tokens() {
        return shape.localLen(ranks);
    }

    private long bytes() {
        return shape.dtype().byteSize();
    }

    long q() {
        return tokens() * shape.heads() * shape.headDim() * bytes();
    }

    /** K and V together, with {@code kvHeads} heads. */
    long kv(int kvHeads) {
        return 2 * tokens() * kvHeads * shape.headDim() * bytes();
    }

    long kv() {
        return kv(shape.kvHeads());
    }

    /** The fp32 log-sum-exp of the shard's rows. */
    long lse() {
        return tokens() * shape.heads() * FP32;
    }

    /** The fp32 running output and its log-sum-exp. */
    long outputAccumulator() {
        return tokens() * shape.heads() * (shape.headDim() + 1L) * FP32;
    }

    /** The fp32 accumulator of a tensor that takes {@code bytes} in the shape's dtype. */
    long fp32(long bytes) {
        return bytes * FP32 / bytes();
    }

    /**
     * The fp32 buffer of {@code fp32Bytes} a scheme accumulates in when the caller's tensor is in a
     * narrower dtype; none when the caller's tensor is fp32 itself.
     */
    long fp32Staging(long fp32Bytes) {
        return bytes() == FP32 ? 0 : fp32Bytes;
    }

    /** A kernel call of this shape's head dim; {@code diagonal} only where the mask applies. */
    AttentionCall call(long queries, long keys, int heads, int kvHeads, boolean diagonal) {
        return new AttentionCall(queries, keys, heads, kvHeads, shape.headDim(), diagonal && shape.causal());
    }

    /**
     * KV heads a rank holds in total after an all-to-all over {@code degree} ranks: all of them
     * when the degree divides them, else the degree's (replicated) when they divide the degree
     * (the shape's split was checked by {@link HeadExchange#requireSplit}).
     */
    int kvHeadsSent(int degree) {
        return shape.kvHeads() % degree == 0 ? shape.kvHeads() : degree;
    }
}
