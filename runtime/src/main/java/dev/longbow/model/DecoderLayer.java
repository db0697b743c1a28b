package dev.longbow.model;

import dev.longbow.backend.Backend;
import dev.longbow.backend.ModelOps;
import dev.longbow.backend.TensorOps;
import dev.longbow.parallel.SequenceParallelAttention;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;

/**
 * One pre-norm Llama block over a rank's shard, forward and backward written out:
 * {@code h = x + Wo attn(rope(Wq n1), rope(Wk n1), Wv n1)}, {@code out = h + Wd (silu(Wg n2) * Wu n2)}
 * with {@code n1 = rmsnorm(x)}, {@code n2 = rmsnorm(h)}. Attention goes through the sequence-parallel
 * scheme, which sees the whole sequence; everything else is local to the shard.
 *
 * <p>In mixed precision the weights' matrices are the bf16 compute copy and their gains the fp32
 * masters; the products accumulate in fp32 and write bf16, except those adding into the fp32
 * residual stream or into an fp32 gradient (of the weights, of a norm's output).
 */
final class DecoderLayer {
    private final ModelConfig c;
    private final ModelOps ops;
    private final TensorOps tensors;
    private final SequenceParallelAttention attention;
    private final Activations acts;

    DecoderLayer(ModelConfig c, Backend backend, SequenceParallelAttention attention, Activations acts) {
        this.c = c;
        this.ops = backend.model();
        this.tensors = backend.tensors();
        this.attention = attention;
        this.acts = acts;
    }

    /** Fills {@code a} from {@code a.x()}; returns what the scheme keeps for backward. */
    SequenceParallelAttention.Saved forward(Weights.Layer w, Activations.Layer a, Tensor positions) {
        rmsNorm(a.x(), w.attnNorm(), a.n1(), a.rstd1());
        ops.matmul(a.n1(), false, w.wq(), true, a.q(), 1, 0);
        ops.matmul(a.n1(), false, w.wk(), true, a.k(), 1, 0);
        ops.matmul(a.n1(), false, w.wv(), true, a.v(), 1, 0);
        ops.rope(heads(a.q(), c.heads()), positions, c.ropeTheta(), false);
        ops.rope(heads(a.k(), c.kvHeads()), positions, c.ropeTheta(), false);
        SequenceParallelAttention.Saved saved = attention.forward(heads(a.q(), c.heads()), heads(a.k(), c.kvHeads()),
                heads(a.v(), c.kvHeads()), heads(a.att(), c.heads()), a.lse());
        tensors.copy(a.x(), a.h());
        ops.matmul(a.att(), false, w.wo(), true, a.h(), 1, 1);
        rmsNorm(a.h(), w.mlpNorm(), a.n2(), a.rstd2());
        ops.matmul(a.n2(), false, w.wGate(), true, a.gate(), 1, 0);
        ops.matmul(a.n2(), false, w.wUp(), true, a.up(), 1, 0);
        ops.swigluForward(a.gate(), a.up(), a.act());
        tensors.copy(a.h(), a.out());
        ops.matmul(a.act(), false, w.wDown(), true, a.out(), 1, 1);
        return saved;
    }

    /**
     * On entry {@code d.dx()} holds the gradient of the loss with respect to {@code a.out()}; on
     * return, with respect to {@code a.x()}. Parameter gradients are added to {@code g}.
     */
    void backward(Weights.Layer w, Weights.Layer g, Activations.Layer a, Activations.Grads d,
                  SequenceParallelAttention.Saved saved, Tensor positions) {
        // MLP: out = h + act Wd^T
        Tensor dout = rounded(d.dx(), d.dxLow());
        ops.matmul(dout, false, w.wDown(), false, d.dact(), 1, 0);
        ops.matmul(dout, true, a.act(), false, g.wDown(), 1, 1);
        ops.swigluBackward(a.gate(), a.up(), d.dact(), d.dgate(), d.dup());
        ops.matmul(d.dgate(), false, w.wGate(), false, d.dn(), 1, 0);
        ops.matmul(d.dup(), false, w.wUp(), false, d.dn(), 1, 1);
        ops.matmul(d.dgate(), true, a.n2(), false, g.wGate(), 1, 1);
        ops.matmul(d.dup(), true, a.n2(), false, g.wUp(), 1, 1);
        ops.rmsNormBackward(a.h(), w.mlpNorm(), a.rstd2(), d.dn(), d.dtmp(), g.mlpNorm());
        tensors.axpy(1f, d.dtmp(), d.dx());
        // Attention: h = x + att Wo^T
        Tensor dh = rounded(d.dx(), d.dxLow());
        ops.matmul(dh, false, w.wo(), false, d.datt(), 1, 0);
        ops.matmul(dh, true, a.att(), false, g.wo(), 1, 1);
        attention.backward(saved, heads(d.datt(), c.heads()), heads(d.dq(), c.heads()),
                heads(d.dk(), c.kvHeads()), heads(d.dv(), c.kvHeads()));
        // A rotation's adjoint is the inverse rotation.
        ops.rope(heads(d.dq(), c.heads()), positions, c.ropeTheta(), true);
        ops.rope(heads(d.dk(), c.kvHeads()), positions, c.ropeTheta(), true);
        ops.matmul(d.dq(), false, w.wq(), false, d.dn(), 1, 0);
        ops.matmul(d.dk(), false, w.wk(), false, d.dn(), 1, 1);
        ops.matmul(d.dv(), false, w.wv(), false, d.dn(), 1, 1);
        ops.matmul(d.dq(), true, a.n1(), false, g.wq(), 1, 1);
        ops.matmul(d.dk(), true, a.n1(), false, g.wk(), 1, 1);
        ops.matmul(d.dv(), true, a.n1(), false, g.wv(), 1, 1);
        ops.rmsNormBackward(a.x(), w.attnNorm(), a.rstd1(), d.dn(), d.dtmp(), g.attnNorm());
        tensors.axpy(1f, d.dtmp(), d.dx());
    }

    /**
     * {@code n = rmsnorm(x) * gain} with fp32 statistics and output (the norm is where bf16
     * loses most: a sum of squares over the row); in mixed precision the fp32 result is rounded
     * into {@code n}, the bf16 input of the products, as autocast does.
     */
    void rmsNorm(Tensor x, Tensor gain, Tensor n, Tensor rstd) {
        if (n.dtype() == DType.F32) {
            ops.rmsNormForward(x, gain, n, rstd, c.normEps());
            return;
        }
        Tensor staging = acts.normStaging();
        ops.rmsNormForward(x, gain, staging, rstd, c.normEps());
        tensors.convert(staging, n);
    }

    /** The fp32 {@code grad} rounded into {@code low}, the products' input; itself when that is the same tensor (fp32). */
    private Tensor rounded(Tensor grad, Tensor low) {
        if (low != grad) {
            tensors.convert(grad, low);
        }
        return low;
    }

    /** {@code [S, H*D]} seen as {@code [S, H, D]}. */
    private Tensor heads(Tensor t, int heads) {
        return t.view(t.dim(0), heads, c.headDim());
    }
}
