package dev.longbow.kernels;

import static dev.longbow.kernels.Checks.requireDType;
import static dev.longbow.kernels.Checks.requireDevice;
import static dev.longbow.kernels.Checks.requireFloat;
import static dev.longbow.kernels.Checks.requireRank;
import static dev.longbow.kernels.Checks.requireSameLayout;
import static dev.longbow.kernels.Kernels.suffix;

import dev.longbow.backend.AdamWStep;
import dev.longbow.backend.ModelOps;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * {@link ModelOps} on one rank's compute stream: gemm.cu (or cuBLAS), rmsnorm.cu, rope.cu, swiglu.cu,
 * embedding.cu, cross_entropy.cu, adamw.cu. Activations may be F32, BF16 or F16 (one dtype per
 * call); weights, statistics, optimizer state and accumulated gradients are F32.
 */
final class CudaModelOps implements ModelOps {
    private static final DType F32 = DType.F32;
    private final Launcher gpu;
    private final CublasMatmul cublas;

    /** @param cublas the matmul engine when cuBLAS is used; null for gemm.cu's kernels */
    CudaModelOps(Launcher gpu, CublasMatmul cublas) {
        this.gpu = gpu;
        this.cublas = cublas;
    }

    @Override
    public void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, float alpha, float beta) {
        requireDevice("matmul", a, b, c);
        requireRank("matmul", "a", a, 2);
        requireRank("matmul", "b", b, 2);
        requireRank("matmul", "c", c, 2);
        long m = transA ? a.dim(1) : a.dim(0);
        long k = transA ? a.dim(0) : a.dim(1);
        long kb = transB ? b.dim(1) : b.dim(0);
        long n = transB ? b.dim(0) : b.dim(1);
        if (k != kb || c.dim(0) != m || c.dim(1) != n) {
            throw new IllegalArgumentException("matmul: op(a) is [" + m + ", " + k + "], op(b) [" + kb + ", " + n + "], c "
                    + c.shape() + "; needs op(a) [M, K], op(b) [K, N], c [M, N] (a " + a + (transA ? "^T" : "")
                    + ", b " + b + (transB ? "^T" : "") + ")");
        }
        if (a.dtype() != b.dtype() || !(a.dtype() == F32 && c.dtype() == F32 || a.dtype() == DType.BF16 && c.dtype() != DType.F16)) {
            throw new IllegalArgumentException("matmul supports F32 x F32 -> F32 and BF16 x BF16 -> F32 or BF16, got "
                    + a.dtype() + " x " + b.dtype() + " -> " + c.dtype());
        }
        if (m == 0 || n == 0) {
            return;
        }
        int mi = Checks.int32("matmul", "M", m);
        int ni = Checks.int32("matmul", "N", n);
        int ki = Checks.int32("matmul", "K", k);
        if (cublas != null) {
            cublas.gemm(a, transA, b, transB, c, mi, ni, ki, alpha, beta);
            return;
        }
        String variant = suffix(a.dtype(), c.dtype()) + "_" + (transA ? "t" : "n") + (transB ? "t" : "n");
        gpu.launch(Kernels.GEMM, variant, Launch.gemm(mi, ni, transA, transB, a.dtype().byteSize()), a, b, c, mi, ni, ki, alpha, beta);
    }

    @Override
    public void rmsNormForward(Tensor x, Tensor weight, Tensor y, Tensor rstd, float eps) {
        requireDevice("rmsNormForward", x, weight, y, rstd);
        Rows rows = Rows.of("rmsNormForward", x);
        requireSameLayout("rmsNormForward", x, y);
        requireDType("rmsNormForward", "weight", weight, F32);
        Checks.requireShape("rmsNormForward", "weight", weight, rows.d);
        requireDType("rmsNormForward", "rstd", rstd, F32);
        Checks.requireShape("rmsNormForward", "rstd", rstd, rows.count);
        if (rows.count == 0) {
            return;
        }
        gpu.launch(Kernels.RMSNORM_FORWARD, suffix(x.dtype()), Launch.blockPerRow(rows.count, rows.steps(x), 8L * gpu.sms()),
                x, weight, y, rstd, rows.count, rows.d, eps);
    }

    @Override
    public void rmsNormBackward(Tensor x, Tensor weight, Tensor rstd, Tensor dy, Tensor dx, Tensor dweight) {
        requireDevice("rmsNormBackward", x, weight, rstd, dy, dx, dweight);
        Rows rows = Rows.of("rmsNormBackward", x);
        requireSameLayout("rmsNormBackward", x, dy);
        requireSameLayout("rmsNormBackward", x, dx);
        requireDType("rmsNormBackward", "weight", weight, F32);
        Checks.requireShape("rmsNormBackward", "weight", weight, rows.d);
        requireDType("rmsNormBackward", "dweight", dweight, F32);
        Checks.requireShape("rmsNormBackward", "dweight", dweight, rows.d);
        requireDType("rmsNormBackward", "rstd", rstd, F32);
        Checks.requireShape("rmsNormBackward", "rstd", rstd, rows.count);
        if (rows.count == 0) {
            return;
        }
        // Two blocks per SM: each keeps a [d] partial of dweight in the workspace (see rmsnorm.cu).
        Launch geometry = Launch.blockPerRow(rows.count, rows.steps(x), 2L * gpu.sms());
        long blocks = geometry.gridX();
        MemorySegment partial = gpu.scratch(blocks * rows.d * Float.BYTES);
        gpu.launch(Kernels.RMSNORM_BACKWARD, suffix(x.dtype()), geometry, x, weight, rstd, dy, dx, partial, rows.count, rows.d);
        gpu.launch(Kernels.COLUMN_SUM, "f32", Launch.stream(rows.d, gpu.sms()), partial, blocks, rows.d, dweight);
    }

    @Override
    public void rope(Tensor x, Tensor positions, float theta, boolean inverse) {
        requireDevice("rope", x, positions);
        requireRank("rope", "x", x, 3);
        requireFloat("rope", "x", x);
        requireDType("rope", "positions", positions, DType.I32);
        Checks.requireShape("rope", "positions", positions, x.dim(0));
        long d = x.dim(2);
        if (d % 2 != 0) {
            throw new IllegalArgumentException("rope: head dim " + d + " must be even (rotate-half pairs i and i + D/2), x " + x);
        }
        if (!(theta > 1)) {
            throw new IllegalArgumentException("rope: theta " + theta + " must be greater than 1");
        }
        if (x.numel() == 0) {
            return;
        }
        gpu.launch(Kernels.ROPE, suffix(x.dtype()), Launch.stream(x.dim(0) * (d / 2), gpu.sms()), x, positions, x.dim(0),
                Checks.int32("rope", "heads", x.dim(1)), Checks.int32("rope", "head dim", d), theta, inverse ? 1 : 0);
    }

    @Override
    public void swigluForward(Tensor gate, Tensor up, Tensor out) {
        requireDevice("swigluForward", gate, up, out);
        requireFloat("swigluForward", "gate", gate);
        requireSameLayout("swigluForward", gate, up);
        requireSameLayout("swigluForward", gate, out);
        gpu.launch(Kernels.SWIGLU_FORWARD, suffix(gate.dtype()), elementwise(gate.numel()), gate, up, out, gate.numel());
    }

    @Override
    public void swigluBackward(Tensor gate, Tensor up, Tensor dout, Tensor dgate, Tensor dup) {
        requireDevice("swigluBackward", gate, up, dout, dgate, dup);
        requireFloat("swigluBackward", "gate", gate);
        for (Tensor t : new Tensor[] {up, dout, dgate, dup}) {
            requireSameLayout("swigluBackward", gate, t);
        }
        gpu.launch(Kernels.SWIGLU_BACKWARD, suffix(gate.dtype()), elementwise(gate.numel()), gate, up, dout, dgate, dup, gate.numel());
    }

    @Override
    public void embeddingForward(Tensor table, Tensor tokens, Tensor out) {
        requireDevice("embeddingForward", table, tokens, out);
        requireRank("embeddingForward", "table", table, 2);
        requireFloat("embeddingForward", "table", table);
        requireFloat("embeddingForward", "out", out);
        requireTokens("embeddingForward", tokens);
        Checks.requireShape("embeddingForward", "out", out, tokens.dim(0), table.dim(1));
        long count = tokens.dim(0);
        long d = table.dim(1);
        if (out.numel() == 0) {
            return;
        }
        gpu.launch(Kernels.EMBEDDING_FORWARD, suffix(table.dtype(), out.dtype()), Launch.rows(count, d, gpu.sms()),
                table, tokens, out, count, table.dim(0), d);
    }

    @Override
    public void embeddingBackward(Tensor tokens, Tensor dout, Tensor dtable) {
        requireDevice("embeddingBackward", tokens, dout, dtable);
        requireRank("embeddingBackward", "dtable", dtable, 2);
        requireDType("embeddingBackward", "dtable", dtable, F32);
        requireFloat("embeddingBackward", "dout", dout);
        requireTokens("embeddingBackward", tokens);
        Checks.requireShape("embeddingBackward", "dout", dout, tokens.dim(0), dtable.dim(1));
        long count = tokens.dim(0);
        long d = dtable.dim(1);
        if (dout.numel() == 0) {
            return;
        }
        gpu.launch(Kernels.EMBEDDING_BACKWARD, suffix(dout.dtype()), Launch.rows(count, d, gpu.sms()),
                tokens, dout, dtable, count, dtable.dim(0), d);
    }

    @Override
    public void crossEntropy(Tensor logits, Tensor targets, Tensor losses, float gradScale) {
        requireDevice("crossEntropy", logits, targets, losses);
        requireRank("crossEntropy", "logits", logits, 2);
        requireFloat("crossEntropy", "logits", logits);
        requireDType("crossEntropy", "targets", targets, DType.I32);
        requireDType("crossEntropy", "losses", losses, F32);
        long rows = logits.dim(0);
        long vocab = logits.dim(1);
        Checks.requireShape("crossEntropy", "targets", targets, rows);
        Checks.requireShape("crossEntropy", "losses", losses, rows);
        if (rows == 0) {
            return;
        }
        if (vocab == 0) {
            throw new IllegalArgumentException("crossEntropy: logits " + logits + " has an empty vocabulary");
        }
        long steps = Launch.ceilDiv(vocab * logits.dtype().byteSize(), 16);
        gpu.launch(Kernels.CROSS_ENTROPY, suffix(logits.dtype()), Launch.blockPerRow(rows, steps, 4L * gpu.sms()),
                logits, targets, losses, rows, vocab, gradScale);
    }

    @Override
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step) {
        requireDevice("adamw", param, grad, m, v);
        requireDType("adamw", "param", param, F32);
        requireFloat("adamw", "grad", grad);
        requireSameLayout("adamw", param, m);
        requireSameLayout("adamw", param, v);
        Checks.requireSameShape("adamw", param, grad);
        if (step.step() < 1) {
            throw new IllegalArgumentException("adamw: step " + step.step() + " must be at least 1 (it is 1-based, for the bias corrections)");
        }
        float bc1 = (float) (1 - Math.pow(step.beta1(), step.step()));
        float bc2 = (float) (1 - Math.pow(step.beta2(), step.step()));
        gpu.launch(Kernels.ADAMW, suffix(grad.dtype()), Launch.stream(Launch.ceilDiv(param.numel(), 4), gpu.sms()),
                param, grad, m, v, param.numel(), step.lr(), step.beta1(), step.beta2(), step.eps(), step.weightDecay(), bc1, bc2);
    }

    private static void requireTokens(String op, Tensor tokens) {
        requireDType(op, "tokens", tokens, DType.I32);
        requireRank(op, "tokens", tokens, 1);
    }

    private Launch elementwise(long n) {
        return Launch.stream(Launch.ceilDiv(n, 4), gpu.sms());
    }

    /** A tensor seen as rows of its last dimension, for the row-wise kernels. */
    private record Rows(long count, long d) {
        static Rows of(String op, Tensor x) {
            requireFloat(op, "x", x);
            if (x.shape().rank() < 1 || x.dim(-1) == 0) {
                throw new IllegalArgumentException(op + ": x " + x + " needs a non-empty last dimension");
            }
            return new Rows(x.numel() / x.dim(-1), x.dim(-1));
        }

        /** Steps a thread takes along a row: 16-byte packs. */
        long steps(Tensor x) {
            return Launch.ceilDiv(d * x.dtype().byteSize(), 16);
        }
    }
}
