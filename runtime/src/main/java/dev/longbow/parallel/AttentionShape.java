package dev.longbow.parallel;

import dev.longbow.tensor.DType;

/**
 * The attention a scheme is built for: the whole sequence's length, the head layout, the dtype
 * and the mask, the same on every rank. Each rank's shard has {@link #localLen} tokens. A shape
 * no kernel can run (an extent below 1, an integer dtype, a head dim over 256, query heads that
 * are not a multiple of the KV heads) is refused here.
 *
 * @param dtype  the element type of q, k, v, out and dout (lse is always fp32)
 * @param causal whether each token attends only to itself and earlier tokens
 */
public record AttentionShape(long seqLen, int heads, int kvHeads, int headDim, DType dtype, boolean causal) {

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

    /** Tokens of one rank's shard on {@code ranks} ranks; see {@link SequenceLayout#localLen}. */
    public long localLen(int ranks) {
        return SequenceLayout.localLen(seqLen, ranks);
    }
}
