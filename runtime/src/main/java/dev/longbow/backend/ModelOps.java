package dev.longbow.backend;

import dev.longbow.tensor.Tensor;

/**
 * The non-attention operations of a Llama-style decoder, forward and backward. Activations and
 * parameters are fp32 unless a method says otherwise, or bf16 where a backend that trains in bf16
 * ({@link BackendProvider#trainingDTypes()}) is given them by a mixed-precision model; norm gains,
 * statistics and accumulated gradients stay fp32. Gradients named "accumulate" are added to.
 */
public interface ModelOps {

    /**
     * {@code c = alpha * op(a) op(b) + beta * c} with {@code op(x) = x^T} when its flag is set.
     * op(a) is {@code [M, K]}, op(b) {@code [K, N]}, c {@code [M, N]}, all 2-D.
     */
    void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, float alpha, float beta);

    /** {@code y = x * rstd * weight} over the last dimension; {@code rstd [rows]} is kept for backward. */
    void rmsNormForward(Tensor x, Tensor weight, Tensor y, Tensor rstd, float eps);

    /** {@code dx = ...} (overwritten), {@code dweight} accumulated. */
    void rmsNormBackward(Tensor x, Tensor weight, Tensor rstd, Tensor dy, Tensor dx, Tensor dweight);

    /**
     * Rotary embedding in place on {@code x [S, H, D]}, "rotate half" convention (pairs
     * {@code (i, i + D/2)}, frequency {@code theta^(-2i/D)}); token s sits at position
     * {@code positions[s]} ({@code I32 [S]}), so a rank's shard may hold any positions.
     * {@code inverse} rotates by the negative angle: the backward pass.
     */
    void rope(Tensor x, Tensor positions, float theta, boolean inverse);

    /** {@code out = silu(gate) * up}. */
    void swigluForward(Tensor gate, Tensor up, Tensor out);

    /** {@code dgate}, {@code dup} overwritten. */
    void swigluBackward(Tensor gate, Tensor up, Tensor dout, Tensor dgate, Tensor dup);

    /** {@code out[s] = table[tokens[s]]}; tokens {@code I32 [S]}, table {@code [V, d]}. */
    void embeddingForward(Tensor table, Tensor tokens, Tensor out);

    /** {@code dtable[tokens[s]] += dout[s]}. */
    void embeddingBackward(Tensor tokens, Tensor dout, Tensor dtable);

    /**
     * Softmax cross-entropy of {@code logits [R, V]} against {@code targets I32 [R]}: writes each
     * row's loss to {@code losses [R]} and replaces the logits by {@code gradScale * (softmax - onehot)},
     * so the logits of a chunk are never held twice. A target of -1 masks its row (loss 0, gradient 0).
     */
    void crossEntropy(Tensor logits, Tensor targets, Tensor losses, float gradScale);

    /**
     * The backward of a vocabulary head {@code logits = x head^T} over one chunk of rows, given
     * {@code dlogits [R, V]} (the logits after {@link #crossEntropy}): {@code dx = dlogits head}
     * ({@code [R, d]}, overwritten) and {@code dhead += dlogits^T x} ({@code [V, d]}). A backend may
     * fuse the two products so that dlogits, a step's largest tensor, is read once; by default
     * they are two {@link #matmul}s.
     */
    default void headBackward(Tensor dlogits, Tensor head, Tensor x, Tensor dx, Tensor dhead) {
        matmul(dlogits, false, head, false, dx, 1, 0);
        matmul(dlogits, true, x, false, dhead, 1, 1);
    }

    /** One AdamW step on {@code param} from {@code grad}, updating the moments {@code m} and {@code v}. */
    void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step);
}
