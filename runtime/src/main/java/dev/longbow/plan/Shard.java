package dev.longbow.plan;

/**
 * One rank's share of one attention layer: {@code S/P} tokens of the sequence, in activation
 * dtype except for the fp32 accumulators (outputs, log-sum-exp, gradients) every scheme keeps.
 */
record Shard(ModelShape model, long seqLen, int ranks, boolean causal, ClusterSpec cluster) {

    /** Backward attention does 2.5x the forward's FLOPs (recomputing the scores, then dQ, dK, dV). */
    static final double BACKWARD_ATTENTION_FACTOR = 2.5;
    static final int FP32 = 4;

    double tokens() {
        return (double) seqLen / ranks;
    }

    int bytes() {
        return cluster.activationBytes();
    }

    double qBytes() {
        return tokens() * model.heads() * model.headDim() * bytes();
    }

    /** K and V together, with {@code kvHeads} heads. */
    double kvBytes(int kvHeads) {
        return 2 * tokens() * kvHeads * model.headDim() * bytes();
    }

    double kvBytes() {
        return kvBytes(model.kvHeads());
    }

    /** The fp32 log-sum-exp of the shard's rows. */
    double lseBytes() {
        return tokens() * model.heads() * FP32;
    }

    /** The fp32 running output and its log-sum-exp. */
    double outputAccumulatorBytes() {
        return tokens() * model.heads() * (model.headDim() + 1.0) * FP32;
    }

    /** The fp32 accumulator of a tensor that takes {@code bytes} in activation dtype. */
    double fp32(double bytes) {
        return bytes * FP32 / bytes();
    }

    /**
     * The fp32 buffer of {@code fp32Bytes} a scheme accumulates in when the caller's tensor is in a
     * narrower activation dtype; none when the caller's tensor is fp32 itself.
     */
    double fp32Staging(double fp32Bytes) {
        return bytes() == FP32 ? 0 : fp32Bytes;
    }

    /** This rank's share of one layer's forward attention FLOPs (the schemes balance it evenly). */
    double attentionFlops() {
        return model.attentionFlops(seqLen, causal) / ranks;
    }

    /** A kernel call of this model's head dim; {@code diagonal} only where the mask applies. */
    AttentionCall call(long queries, long keys, int heads, int kvHeads, boolean diagonal) {
        return new AttentionCall(queries, keys, heads, kvHeads, model.headDim(), diagonal && causal);
    }

    /** Seconds of {@code count} forward calls of one shape, at that shape's rate. */
    double forwardSeconds(AttentionCall call, int count) {
        return count * call.flops() / cluster.attentionRates().forward(call);
    }

    double backwardSeconds(AttentionCall call, int count) {
        return count * BACKWARD_ATTENTION_FACTOR * call.flops() / cluster.attentionRates().backward(call);
    }
}
