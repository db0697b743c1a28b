package dev.longbow.tornado.vm;

import static dev.longbow.tensor.DType.F32;
import static dev.longbow.tensor.DType.I32;

import dev.longbow.backend.AdamWStep;
import dev.longbow.backend.ModelOps;
import dev.longbow.tensor.Tensor;

/**
 * {@link ModelOps} as the kernels of {@link ModelKernels}. Int32 inputs (token ids, targets) are
 * only ever written by the host, so their host copy is current and is range-checked here before
 * a kernel indexes with them.
 */
final class TornadoModelOps implements ModelOps {
    private final TornadoBackend backend;

    TornadoModelOps(TornadoBackend backend) {
        this.backend = backend;
    }

    @Override
    public void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, float alpha, float beta) {
        if (a.shape().rank() != 2 || b.shape().rank() != 2 || c.shape().rank() != 2) {
            throw new IllegalArgumentException("matmul needs 2-D tensors, got a " + a.shape() + ", b " + b.shape() + ", c " + c.shape());
        }
        long m = transA ? a.dim(1) : a.dim(0);
        long k = transA ? a.dim(0) : a.dim(1);
        long kb = transB ? b.dim(1) : b.dim(0);
        long n = transB ? b.dim(0) : b.dim(1);
        if (k != kb || c.dim(0) != m || c.dim(1) != n) {
            throw new IllegalArgumentException("matmul: op(a) [" + m + ", " + k + "] x op(b) [" + kb + ", " + n + "] does not give c " + c.shape());
        }
        long to = backend.at("c", c, F32);
        backend.launch(Launch.of(Kernel.MATMUL)
                .args(backend.at("a", a, F32), backend.at("b", b, F32), to, m, n, k, transA ? 1 : 0, transB ? 1 : 0)
                .scalars(alpha, beta).grid(n, m).writes(to, c.numel()));
    }

    @Override
    public void rmsNormForward(Tensor x, Tensor weight, Tensor y, Tensor rstd, float eps) {
        long width = lastDim(x);
        long rows = x.numel() / width;
        requireShape("y", y, x);
        requireCount("weight", weight, width);
        requireCount("rstd", rstd, rows);
        long yAt = backend.at("y", y, F32);
        long rAt = backend.at("rstd", rstd, F32);
        backend.launch(Launch.of(Kernel.RMS_NORM_FORWARD)
                .args(backend.at("x", x, F32), backend.at("weight", weight, F32), yAt, rAt, width).scalars(eps)
                .groups(rows).writes(yAt, y.numel()).writes(rAt, rows));
    }

    @Override
    public void rmsNormBackward(Tensor x, Tensor weight, Tensor rstd, Tensor dy, Tensor dx, Tensor dweight) {
        long width = lastDim(x);
        long rows = x.numel() / width;
        requireShape("dy", dy, x);
        requireShape("dx", dx, x);
        requireCount("weight", weight, width);
        requireCount("dweight", dweight, width);
        requireCount("rstd", rstd, rows);
        long xAt = backend.at("x", x, F32);
        long rAt = backend.at("rstd", rstd, F32);
        long dyAt = backend.at("dy", dy, F32);
        long dxAt = backend.at("dx", dx, F32);
        long dwAt = backend.at("dweight", dweight, F32);
        backend.launch(Launch.of(Kernel.RMS_NORM_BACKWARD).args(xAt, backend.at("weight", weight, F32), rAt, dyAt, dxAt, width)
                .groups(rows).writes(dxAt, dx.numel()));
        backend.launch(Launch.of(Kernel.RMS_NORM_WEIGHT_GRAD).args(xAt, rAt, dyAt, dwAt, rows, width)
                .items(width).writes(dwAt, width));
    }

    @Override
    public void rope(Tensor x, Tensor positions, float theta, boolean inverse) {
        if (x.shape().rank() != 3 || x.dim(0) != positions.numel() || x.dim(2) % 2 != 0) {
            throw new IllegalArgumentException("rope needs x [S, H, D] with even D and positions [S], got " + x + " and " + positions);
        }
        long at = backend.at("x", x, F32);
        backend.launch(Launch.of(Kernel.ROPE)
                .args(at, backend.at("positions", positions, I32), x.dim(0), x.dim(1), x.dim(2), inverse ? 1 : 0).scalars(theta)
                .items(x.numel() / 2).writes(at, x.numel()));
    }

    @Override
    public void swigluForward(Tensor gate, Tensor up, Tensor out) {
        requireShape("up", up, gate);
        requireShape("out", out, gate);
        long to = backend.at("out", out, F32);
        backend.launch(Launch.of(Kernel.SWIGLU_FORWARD).args(backend.at("gate", gate, F32), backend.at("up", up, F32), to, gate.numel())
                .items(gate.numel()).writes(to, out.numel()));
    }

    @Override
    public void swigluBackward(Tensor gate, Tensor up, Tensor dout, Tensor dgate, Tensor dup) {
        for (Tensor t : new Tensor[] {up, dout, dgate, dup}) {
            requireShape("swiglu tensor", t, gate);
        }
        long dg = backend.at("dgate", dgate, F32);
        long du = backend.at("dup", dup, F32);
        backend.launch(Launch.of(Kernel.SWIGLU_BACKWARD)
                .args(backend.at("gate", gate, F32), backend.at("up", up, F32), backend.at("dout", dout, F32), dg, du, gate.numel())
                .items(gate.numel()).writes(dg, dgate.numel()).writes(du, dup.numel()));
    }

    @Override
    public void embeddingForward(Tensor table, Tensor tokens, Tensor out) {
        long width = lastDim(table);
        out.requireShape(tokens.numel(), width);
        requireIndices("token", tokens, table.dim(0), false);
        long to = backend.at("out", out, F32);
        backend.launch(Launch.of(Kernel.EMBEDDING_FORWARD)
                .args(backend.at("table", table, F32), backend.at("tokens", tokens, I32), to, tokens.numel(), width)
                .items(out.numel()).writes(to, out.numel()));
    }

    @Override
    public void embeddingBackward(Tensor tokens, Tensor dout, Tensor dtable) {
        long width = lastDim(dtable);
        dout.requireShape(tokens.numel(), width);
        requireIndices("token", tokens, dtable.dim(0), false);
        long to = backend.at("dtable", dtable, F32);
        backend.launch(Launch.of(Kernel.EMBEDDING_BACKWARD)
                .args(backend.at("tokens", tokens, I32), backend.at("dout", dout, F32), to, tokens.numel(), width)
                .items(width).writes(to, dtable.numel()));
    }

    @Override
    public void crossEntropy(Tensor logits, Tensor targets, Tensor losses, float gradScale) {
        long vocab = lastDim(logits);
        long rows = logits.numel() / vocab;
        if (targets.numel() != rows || losses.numel() != rows) {
            throw new IllegalArgumentException("crossEntropy: " + rows + " rows of logits but targets " + targets + ", losses " + losses);
        }
        requireIndices("target", targets, vocab, true);
        long at = backend.at("logits", logits, F32);
        long lossAt = backend.at("losses", losses, F32);
        backend.launch(Launch.of(Kernel.CROSS_ENTROPY).args(at, backend.at("targets", targets, I32), lossAt, vocab).scalars(gradScale)
                .groups(rows).writes(at, logits.numel()).writes(lossAt, rows));
    }

    @Override
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step) {
        for (Tensor t : new Tensor[] {grad, m, v}) {
            requireShape("adamw state", t, param);
        }
        long p = backend.at("param", param, F32);
        long mAt = backend.at("m", m, F32);
        long vAt = backend.at("v", v, F32);
        backend.launch(Launch.of(Kernel.ADAMW).args(p, backend.at("grad", grad, F32), mAt, vAt, param.numel())
                .scalars(step.lr(), step.beta1(), step.beta2(), step.eps(), step.weightDecay(),
                        (float) (1 - Math.pow(step.beta1(), step.step())), (float) (1 - Math.pow(step.beta2(), step.step())))
                .items(param.numel()).writes(p, param.numel()).writes(mAt, m.numel()).writes(vAt, v.numel()));
    }

    /**
     * Checks int32 indices on their host copy, which is current because kernels never write int32
     * tensors; {@code -1} is allowed where it masks a row.
     */
    private void requireIndices(String what, Tensor indices, long limit, boolean minusOneMasks) {
        backend.at(what + "s", indices, I32);
        for (long i = 0; i < indices.numel(); i++) {
            int value = indices.getInt(i);
            if ((value < 0 || value >= limit) && !(minusOneMasks && value == -1)) {
                throw new IllegalArgumentException(what + " " + value + " at index " + i + " outside [0, " + limit + ")");
            }
        }
    }

    private static long lastDim(Tensor t) {
        if (t.shape().rank() == 0 || t.dim(-1) == 0) {
            throw new IllegalArgumentException("expected a tensor with a non-empty last dimension, got " + t);
        }
        return t.dim(-1);
    }

    private static void requireShape(String name, Tensor t, Tensor like) {
        if (!t.shape().equals(like.shape())) {
            throw new IllegalArgumentException(name + " must have shape " + like.shape() + ", got " + t.shape());
        }
    }

    private static void requireCount(String name, Tensor t, long count) {
        if (t.numel() != count) {
            throw new IllegalArgumentException(name + " must have " + count + " elements, got " + t);
        }
    }
}
