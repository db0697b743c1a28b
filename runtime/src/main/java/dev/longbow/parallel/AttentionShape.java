package dev.longbow.parallel;

import dev.longbow.tensor.DType;

/**
 * The attention a scheme is built for: the whole sequence's length, the head layout, the dtype
 * and the mask, the same on every rank. Each rank's shard has {@link #localLen} tokens. A shape
 * no kernel can run (an extent below 1, an integer dtype, a head dim over 256, query heads that
 * are not a multiple of the KV heads) is refused here.
 *
 * <p>{@link #of} makes the common case, causal fp32 multi-head attention; the {@code with}
 * methods change one property: {@code AttentionShape.of(4096, 8, 64).withKvHeads(2).withDType(DType.BF16)}.
 *
 * @param seqLen  tokens in the whole sequence, split over the ranks
 * @param heads   query heads (Hq)
 * @param kvHeads key and value heads (Hkv), dividing {@code heads}: grouped-query attention when fewer
 * @param headDim the head dimension (D), at most 256
 * @param dtype   the element type of q, k, v, out and dout (lse is always fp32)
 * @param causal  whether each token attends only to itself and earlier tokens
 */
public record AttentionShape(long seqLen, int heads, int kvHeads, int headDim, DType dtype, boolean causal) {

    /** Refuses a shape no kernel can run, naming the value and the limit. */
    public AttentionShape {
        if (seqLen < 1 || heads < 1 || kvHeads < 1 || headDim < 1) {
            throw new IllegalArgumentException("every extent of the attention (sequence length " + seqLen + ", heads " + heads
                    + ", kv heads " + kvHeads + ", head dim " + headDim + ") must be positive");
        }
        if (!dtype.isFloatingPoint()) {
            throw new IllegalArgumentException("attention dtype " + dtype + " is not a floating-point type");
        }
        if (headDim > 256) {
            throw new IllegalArgumentException("head dim " + headDim + " exceeds 256");
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("heads " + heads + " not divisible by kv heads " + kvHeads + " (GQA needs Hq % Hkv == 0)");
        }
    }

    /**
     * Causal fp32 multi-head attention (as many key and value heads as query heads).
     *
     * @param seqLen  tokens in the whole sequence
     * @param heads   query heads, and key and value heads
     * @param headDim the head dimension
     * @return the shape
     */
    public static AttentionShape of(long seqLen, int heads, int headDim) {
        return new AttentionShape(seqLen, heads, heads, headDim, DType.F32, true);
    }

    /**
     * This shape with {@code kvHeads} key and value heads: grouped-query attention when fewer than the query heads.
     *
     * @param kvHeads key and value heads, dividing the query heads
     * @return the new shape
     */
    public AttentionShape withKvHeads(int kvHeads) {
        return new AttentionShape(seqLen, heads, kvHeads, headDim, dtype, causal);
    }

    /**
     * This shape in another element type.
     *
     * @param dtype a floating-point type (bf16 for the CUDA flash kernels)
     * @return the new shape
     */
    public AttentionShape withDType(DType dtype) {
        return new AttentionShape(seqLen, heads, kvHeads, headDim, dtype, causal);
    }

    /**
     * This shape with or without the causal mask.
     *
     * @param causal whether each token sees only itself and earlier tokens
     * @return the new shape
     */
    public AttentionShape withCausal(boolean causal) {
        return new AttentionShape(seqLen, heads, kvHeads, headDim, dtype, causal);
    }

    /**
     * Tokens of one rank's shard on {@code ranks} ranks; see {@link SequenceLayout#localLen}.
     *
     * @param ranks the ranks the sequence is split over
     * @return {@code seqLen / ranks}
     */
    public long localLen(int ranks) {
        return SequenceLayout.localLen(seqLen, ranks);
    }

    /**
     * Floats per token of q, out and dout: {@code heads * headDim}.
     *
     * @return the width of a query row
     */
    public int queryWidth() {
        return heads * headDim;
    }

    /**
     * Floats per token of k, v and their gradients: {@code kvHeads * headDim}.
     *
     * @return the width of a key or value row
     */
    public int kvWidth() {
        return kvHeads * headDim;
    }
}
