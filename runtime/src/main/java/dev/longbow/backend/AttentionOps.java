package dev.longbow.backend;

import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;

/**
 * Flash attention and the pieces sequence parallelism composes it from.
 *
 * <p>Shapes: q {@code [Sq, Hq, D]}, k and v {@code [Sk, Hkv, D]} with {@code Hq % Hkv == 0}
 * (query head h reads key/value head {@code h / (Hq / Hkv)}); out {@code [Sq, Hq, D]}, lse
 * {@code [Sq, Hq]} fp32. Memory stays O(S*D): no implementation materialises the S x S scores.
 */
public interface AttentionOps {

    /**
     * Why this backend cannot run attention in {@code dtype} with head dim {@code headDim}
     * (forward, and backward too when {@code backward}), or null when it can. Checked when a
     * scheme is built, before any work.
     */
    default String unsupportedReason(DType dtype, long headDim, boolean backward) {
        return null;
    }

    /** {@code out = softmax(scale * q k^T + mask) v} and its row log-sum-exp (natural log, scale included). */
    void forward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, AttentionParams params);

    /**
     * Adds this block's gradients to the fp32 accumulators {@code dq, dk, dv}. {@code out} and
     * {@code lse} are the final (merged) results of the whole attention the block belongs to, so
     * block-wise backward passes sum to the exact gradient; {@code rowsum(dout * out)} is
     * computed inside.
     */
    void backward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dout,
                  Tensor dq, Tensor dk, Tensor dv, AttentionParams params);

    /**
     * Folds a partial result into a running one, weighting each by its log-sum-exp:
     * {@code lse' = log(e^lse + e^partLse)}, {@code out' = out e^(lse-lse') + partOut e^(partLse-lse')}.
     * {@code out}, {@code lse} fp32; {@code partOut} fp32 or the input dtype.
     */
    void merge(Tensor out, Tensor lse, Tensor partOut, Tensor partLse);
}
