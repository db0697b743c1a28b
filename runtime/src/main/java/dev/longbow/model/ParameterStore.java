package dev.longbow.model;

import dev.longbow.tensor.Tensor;

/**
 * Where {@link Llama} gets its weights and leaves its weight gradients, unit by unit: the
 * embedding, each decoder layer, and the tail (final norm and, untied, the output head). Every
 * rank calls these in the same order (a sharded store's calls are collectives). A tensor returned
 * for a unit is valid until the next call for a unit of the same kind; gradients are added to
 * what a gradient call returns, and handed over by the matching {@code ...Done} call.
 *
 * <p>{@link ReplicatedParameters}: every rank holds every weight, the calls return views of them
 * and the trainer all-reduces the gradients. {@link ShardedParameters}: each rank holds a shard
 * of every unit, gathers a unit before it is used and reduce-scatters its gradients when done.
 */
public interface ParameterStore extends AutoCloseable {

    /**
     * The final norm's gain and the output head, as the head computes with them.
     *
     * @param finalNorm the final RMSNorm's gain {@code [dim]} (fp32: the norm kernels read fp32 gains)
     * @param head      the output projection {@code [vocab, dim]} in the compute dtype
     */
    record Tail(Tensor finalNorm, Tensor head) {
    }

    /**
     * The token embedding for the lookup (fp32: the residual stream starts in fp32).
     *
     * @return {@code [vocab, dim]}
     */
    Tensor embedding();

    /**
     * Layer {@code l}'s weights for compute: matrices in the compute dtype, gains in fp32.
     *
     * @param l the layer, from 0
     * @return its weights
     */
    Weights.Layer layer(int l);

    /**
     * The final norm and the head for compute (tied: the head is the embedding).
     *
     * @return both
     */
    Tail tail();

    /**
     * Where the embedding's gradient is added (fp32); tied, the head's gradient goes here too.
     *
     * @return {@code [vocab, dim]}
     */
    Tensor embeddingGrads();

    /**
     * Where layer {@code l}'s gradients are added (fp32).
     *
     * @param l the layer
     * @return its gradient views
     */
    Weights.Layer layerGrads(int l);

    /**
     * Where the final norm's and the head's gradients are added (fp32); tied, the head's is {@link #embeddingGrads()}.
     *
     * @return both
     */
    Tail tailGrads();

    /** Sets every weight gradient this rank keeps to zero, before a step's first micro-batch. */
    void zeroGrads();

    /** The embedding's gradients of this backward are complete (tied: the head's too). */
    void embeddingGradsDone();

    /**
     * Layer {@code l}'s gradients of this backward are complete.
     *
     * @param l the layer
     */
    void layerGradsDone(int l);

    /** The final norm's (and untied head's) gradients of this backward are complete. */
    void tailGradsDone();

    /**
     * Bytes this store allocated.
     *
     * @return its buffers' size
     */
    long bufferBytes();

    @Override
    void close();
}
