package dev.longbow.backend.cpu;

import dev.longbow.backend.AttentionParams;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Tensor;

/**
 * The extents of one attention call, checked against every tensor it touches: q {@code [sq, hq, d]},
 * k and v {@code [sk, hkv, d]}, out {@code [sq, hq, d]}, lse {@code [sq, hq]} fp32.
 */
record AttentionDims(int sq, int sk, int hq, int hkv, int d) {

    /** Query heads per key/value head. */
    int group() {
        return hq / hkv;
    }

    static AttentionDims of(Tensor q, Tensor k, Tensor v, AttentionParams params) {
        CpuTensorOps.requireHost(q, k, v);
        requireFloat("q", q);
        requireFloat("k", k);
        requireFloat("v", v);
        if (q.shape().rank() != 3 || k.shape().rank() != 3) {
            throw new IllegalArgumentException("attention needs q [S, Hq, D] and k, v [S, Hkv, D], got q "
                    + q.shape() + ", k " + k.shape());
        }
        if (!k.shape().equals(v.shape())) {
            throw new IllegalArgumentException("k " + k.shape() + " and v " + v.shape() + " must have one shape");
        }
        if (q.dim(2) != k.dim(2)) {
            throw new IllegalArgumentException("head dim of q (" + q.dim(2) + ") differs from k's (" + k.dim(2) + ")");
        }
        if (k.dim(1) == 0 || q.dim(1) % k.dim(1) != 0) {
            throw new IllegalArgumentException("query heads " + q.dim(1) + " not a multiple of key/value heads " + k.dim(1));
        }
        if (!(params.scale() > 0) || Float.isInfinite(params.scale())) {
            throw new IllegalArgumentException("attention scale must be positive and finite, got " + params.scale());
        }
        return new AttentionDims(Math.toIntExact(q.dim(0)), Math.toIntExact(k.dim(0)),
                Math.toIntExact(q.dim(1)), Math.toIntExact(k.dim(1)), Math.toIntExact(q.dim(2)));
    }

    /** out (or dout) {@code [sq, hq, d]} in any floating dtype. */
    void requireQueryShaped(String name, Tensor t) {
        CpuTensorOps.requireHost(t);
        requireFloat(name, t);
        requireShape(name, t, sq, hq, d);
    }

    void requireLse(Tensor lse) {
        CpuTensorOps.requireHost(lse);
        requireF32("lse", lse);
        requireShape("lse", lse, sq, hq);
    }

    /** The fp32 gradient accumulators. */
    void requireGradients(Tensor dq, Tensor dk, Tensor dv) {
        CpuTensorOps.requireHost(dq, dk, dv);
        requireF32("dq", dq);
        requireF32("dk", dk);
        requireF32("dv", dv);
        requireShape("dq", dq, sq, hq, d);
        requireShape("dk", dk, sk, hkv, d);
        requireShape("dv", dv, sk, hkv, d);
    }

    private static void requireShape(String name, Tensor t, long... dims) {
        if (!t.shape().equals(Shape.of(dims))) {
            throw new IllegalArgumentException(name + " must have shape " + Shape.of(dims) + ", got " + t.shape());
        }
    }

    static void requireFloat(String name, Tensor t) {
        if (!t.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException(name + " must be F32, BF16 or F16, got " + t);
        }
    }

    static void requireF32(String name, Tensor t) {
        if (t.dtype() != DType.F32) {
            throw new IllegalArgumentException(name + " must be F32 (an fp32 accumulator), got " + t);
        }
    }
}
