package dev.longbow.tornado.vm;

import static dev.longbow.tensor.DType.F32;
import static dev.longbow.tornado.vm.AttentionKernels.MAX_HEAD_DIM;
import static dev.longbow.tornado.vm.AttentionKernels.TILE;

import dev.longbow.backend.AttentionOps;
import dev.longbow.backend.AttentionParams;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Tensor;

/** {@link AttentionOps} as the flash kernels of {@link AttentionKernels}: checks a call, then launches it. */
final class TornadoAttention implements AttentionOps {
    private final TornadoBackend backend;

    TornadoAttention(TornadoBackend backend) {
        this.backend = backend;
    }

    /** The extents of one call and the launch arguments they give. */
    private record Dims(long sq, long sk, long hq, long hkv, long d) {

        static Dims of(Tensor q, Tensor k, Tensor v, AttentionParams params) {
            if (q.shape().rank() != 3 || k.shape().rank() != 3 || !k.shape().equals(v.shape())) {
                throw new IllegalArgumentException("attention needs q [S, Hq, D] and k, v [S, Hkv, D], got q "
                        + q.shape() + ", k " + k.shape() + ", v " + v.shape());
            }
            if (q.dim(2) != k.dim(2)) {
                throw new IllegalArgumentException("head dim of q (" + q.dim(2) + ") differs from k's (" + k.dim(2) + ")");
            }
            if (k.dim(1) == 0 || q.dim(1) % k.dim(1) != 0) {
                throw new IllegalArgumentException("query heads " + q.dim(1) + " not a multiple of key/value heads " + k.dim(1));
            }
            if (q.dim(2) > MAX_HEAD_DIM) {
                throw new IllegalArgumentException("head dim " + q.dim(2) + " exceeds " + MAX_HEAD_DIM
                        + ", the largest the tornado kernels' local-memory tiles hold");
            }
            if (!(params.scale() > 0) || Float.isInfinite(params.scale())) {
                throw new IllegalArgumentException("attention scale must be positive and finite, got " + params.scale());
            }
            return new Dims(q.dim(0), k.dim(0), q.dim(1), k.dim(1), q.dim(2));
        }

        void require(String name, Tensor t, long... dims) {
            if (!t.shape().equals(Shape.of(dims))) {
                throw new IllegalArgumentException(name + " must have shape " + Shape.of(dims) + ", got " + t.shape());
            }
        }

        long queryGroups() {
            return (sq + TILE - 1) / TILE * hq;
        }

        long keyGroups() {
            return (sk + TILE - 1) / TILE * hkv;
        }
    }

    @Override
    public void forward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, AttentionParams params) {
        Dims dims = Dims.of(q, k, v, params);
        dims.require("out", out, dims.sq, dims.hq, dims.d);
        dims.require("lse", lse, dims.sq, dims.hq);
        if (dims.sq == 0) {
            return;
        }
        long o = backend.at("out", out, F32);
        long l = backend.at("lse", lse, F32);
        backend.launch(Launch.of(Kernel.FLASH_FORWARD)
                .args(slots(dims, params, q, k, v, o, l, 0, 0, 0, 0)).scalars(params.scale())
                .groups(dims.queryGroups()).writes(o, out.numel()).writes(l, lse.numel()));
    }

    @Override
    public void backward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dout,
                         Tensor dq, Tensor dk, Tensor dv, AttentionParams params) {
        Dims dims = Dims.of(q, k, v, params);
        dims.require("out", out, dims.sq, dims.hq, dims.d);
        dims.require("dout", dout, dims.sq, dims.hq, dims.d);
        dims.require("lse", lse, dims.sq, dims.hq);
        dims.require("dq", dq, dims.sq, dims.hq, dims.d);
        dims.require("dk", dk, dims.sk, dims.hkv, dims.d);
        dims.require("dv", dv, dims.sk, dims.hkv, dims.d);
        if (dims.sq == 0 || dims.sk == 0) {
            return;
        }
        long gq = backend.at("dq", dq, F32);
        long gk = backend.at("dk", dk, F32);
        long gv = backend.at("dv", dv, F32);
        long[] slots = slots(dims, params, q, k, v, backend.at("out", out, F32), backend.at("lse", lse, F32),
                backend.at("dout", dout, F32), gq, gk, gv);
        backend.launch(Launch.of(Kernel.FLASH_BACKWARD_KEYS).args(slots).scalars(params.scale())
                .groups(dims.keyGroups()).writes(gk, dk.numel()).writes(gv, dv.numel()));
        backend.launch(Launch.of(Kernel.FLASH_BACKWARD_QUERIES).args(slots).scalars(params.scale())
                .groups(dims.queryGroups()).writes(gq, dq.numel()));
    }

    /** The int slots of {@link AttentionKernels}, in its order; the forward pass leaves the gradients 0. */
    private long[] slots(Dims dims, AttentionParams params, Tensor q, Tensor k, Tensor v, long out, long lse,
                         long dout, long dq, long dk, long dv) {
        return new long[] {backend.at("q", q, F32), backend.at("k", k, F32), backend.at("v", v, F32), out, lse, dout, dq, dk, dv,
            dims.sq, dims.sk, dims.hq, dims.hkv, dims.d, params.causal() ? 1 : 0, Math.subtractExact(params.qStart(), params.kStart())};
    }

    @Override
    public void merge(Tensor out, Tensor lse, Tensor partOut, Tensor partLse) {
        if (out.shape().rank() != 3 || !out.shape().equals(partOut.shape()) || !lse.shape().equals(partLse.shape())
                || lse.shape().rank() != 2 || lse.dim(0) != out.dim(0) || lse.dim(1) != out.dim(1)) {
            throw new IllegalArgumentException("merge needs out, partOut [S, H, D] and lse, partLse [S, H], got out "
                    + out.shape() + ", partOut " + partOut.shape() + ", lse " + lse.shape() + ", partLse " + partLse.shape());
        }
        long o = backend.at("out", out, F32);
        long l = backend.at("lse", lse, F32);
        backend.launch(Launch.of(Kernel.LSE_MERGE)
                .args(o, l, backend.at("partOut", partOut, F32), backend.at("partLse", partLse, F32), lse.numel(), out.dim(2))
                .items(lse.numel()).writes(o, out.numel()).writes(l, lse.numel()));
    }
}
