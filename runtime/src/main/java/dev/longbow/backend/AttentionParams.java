package dev.longbow.backend;

/**
 * What one attention call computes beyond its tensors.
 *
 * <p>Positions make block-wise attention exact: query row {@code i} sits at global position
 * {@code qStart + i}, key row {@code j} at {@code kStart + j}, and under a causal mask key
 * {@code j} is visible to query {@code i} iff {@code kStart + j <= qStart + i}. A query row that
 * sees no key gets output 0 and log-sum-exp -infinity, which {@link AttentionOps#merge} treats as
 * "contributes nothing".
 *
 * @param scale multiplies q.k before the softmax, usually 1/sqrt(head dim)
 */
public record AttentionParams(float scale, boolean causal, long qStart, long kStart) {

    /**
     * The parameters of attention over whole tensors: scale {@code 1/sqrt(headDim)}, both blocks starting at position 0.
     *
     * @param headDim the head dimension
     * @param causal  whether to apply the causal mask
     * @return the parameters
     */
    public static AttentionParams of(long headDim, boolean causal) {
        return new AttentionParams((float) (1.0 / Math.sqrt(headDim)), causal, 0, 0);
    }

    /**
     * These parameters for blocks whose first rows sit at other positions.
     *
     * @param qStart the global position of the first query row
     * @param kStart the global position of the first key row
     * @return the new parameters
     */
    public AttentionParams at(long qStart, long kStart) {
        return new AttentionParams(scale, causal, qStart, kStart);
    }

    /**
     * These parameters without the causal mask: for a block that lies wholly before the queries.
     *
     * @return the new parameters
     */
    public AttentionParams unmasked() {
        return new AttentionParams(scale, false, qStart, kStart);
    }
}
