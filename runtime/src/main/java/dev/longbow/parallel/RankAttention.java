package dev.longbow.parallel;

import dev.longbow.backend.AttentionParams;
import dev.longbow.backend.Backend;
import dev.longbow.backend.TensorOps;
import dev.longbow.comm.Communicator;
import dev.longbow.comm.Traffic;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Tensor;

/**
 * What every scheme's rank shares: its scheme, backend and group, the shape it was built for, the
 * last call's cost. Building one checks everything first (see {@link Scheme#attention}), so no
 * scheme can skip a check.
 */
abstract class RankAttention implements SequenceParallelAttention {
    final Scheme scheme;
    final Backend backend;
    final TensorOps ops;
    final Communicator comm;
    final AttentionShape shape;
    final AttentionParams params;
    /** Tokens of this rank's shard. */
    final long localLen;
    private CallStats lastCall = new CallStats(Traffic.NONE, 0, 0);

    /** Checks as {@link Scheme#attention} says (a collective), then builds. */
    RankAttention(Scheme scheme, AttentionShape shape, Backend backend, Communicator comm) {
        scheme.validate(comm.size(), shape);
        String unsupported = backend.attention().unsupportedReason(shape.dtype(), shape.headDim(), true);
        if (unsupported != null) {
            throw new IllegalArgumentException("the " + backend.name() + " backend cannot run this attention: " + unsupported);
        }
        RankAgreement.require(scheme, shape, backend, comm);
        this.scheme = scheme;
        this.backend = backend;
        this.ops = backend.tensors();
        this.comm = comm;
        this.shape = shape;
        this.params = AttentionParams.of(shape.headDim(), shape.causal());
        this.localLen = shape.localLen(comm.size());
    }

    @Override
    public String name() {
        return scheme.name();
    }

    @Override
    public SequenceLayout layout() {
        return scheme.layout();
    }

    @Override
    public CallStats lastCall() {
        return lastCall;
    }

    void record(CallMeter meter) {
        lastCall = meter.finish();
    }

    /** What forward returns: {@code state}, which one backward may spend. */
    Saved issue(Saved state) {
        return new SingleUse(name(), state);
    }

    /** The state this scheme's forward saved in {@code saved}; a second call on the same {@code saved} fails. */
    <S extends Saved> S spend(Saved saved, Class<S> type) {
        if (!(saved instanceof SingleUse once)) {
            throw new IllegalArgumentException(name() + ".backward got " + saved + ", not a state its forward returned");
        }
        return once.spend(name(), type);
    }

    void checkForward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        check("q", q, shape.dtype(), localLen, shape.heads(), shape.headDim());
        check("k", k, shape.dtype(), localLen, shape.kvHeads(), shape.headDim());
        check("v", v, shape.dtype(), localLen, shape.kvHeads(), shape.headDim());
        check("out", out, shape.dtype(), localLen, shape.heads(), shape.headDim());
        check("lse", lse, DType.F32, localLen, shape.heads());
    }

    void checkBackward(Tensor dout, Tensor dq, Tensor dk, Tensor dv) {
        check("dout", dout, shape.dtype(), localLen, shape.heads(), shape.headDim());
        check("dq", dq, shape.dtype(), localLen, shape.heads(), shape.headDim());
        check("dk", dk, shape.dtype(), localLen, shape.kvHeads(), shape.headDim());
        check("dv", dv, shape.dtype(), localLen, shape.kvHeads(), shape.headDim());
    }

    private void check(String what, Tensor t, DType dtype, long... dims) {
        if (t.dtype() != dtype || !t.shape().equals(Shape.of(dims))) {
            throw new IllegalArgumentException(name() + ": " + what + " is " + t + " but rank " + comm.rank() + " of "
                    + comm.size() + " expects " + dtype + Shape.of(dims) + " for " + shape);
        }
        if (t.placement() != backend.placement()) {
            throw new IllegalArgumentException(name() + ": " + what + " is in " + t.placement() + " memory, the "
                    + backend.name() + " backend computes in " + backend.placement() + " memory");
        }
    }

    /**
     * The fp32 accumulator {@code acc} in the inputs' dtype: itself when that is fp32, else
     * rounded into {@code staging}.
     */
    Tensor rounded(Tensor acc, Tensor staging) {
        if (shape.dtype() == DType.F32) {
            return acc;
        }
        ops.convert(acc, staging);
        return staging;
    }

    /** {@code dst} = the fp32 {@code acc}, unless dst is the accumulator itself. */
    void store(Tensor acc, Tensor dst) {
        if (acc != dst) {
            ops.convert(acc, dst);
        }
    }
}
