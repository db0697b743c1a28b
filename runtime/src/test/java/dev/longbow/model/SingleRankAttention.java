package dev.longbow.model;

import dev.longbow.backend.AttentionOps;
import dev.longbow.backend.AttentionParams;
import dev.longbow.backend.TensorOps;
import dev.longbow.comm.Traffic;
import dev.longbow.parallel.CallStats;
import dev.longbow.parallel.SequenceLayout;
import dev.longbow.parallel.SequenceParallelAttention;
import dev.longbow.tensor.Tensor;

/** The whole sequence on one rank: the backend's attention, no scheme, no communicator. The baseline the model is checked against. */
public final class SingleRankAttention implements SequenceParallelAttention {
    private static final CallStats NOTHING = new CallStats(Traffic.NONE, 0, 0);
    private final AttentionOps attention;
    private final TensorOps tensors;
    private final AttentionParams params;

    public SingleRankAttention(AttentionOps attention, TensorOps tensors, AttentionParams params) {
        this.attention = attention;
        this.tensors = tensors;
        this.params = params;
    }

    private record Inputs(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) implements Saved {
        @Override
        public void close() {
        }
    }

    @Override
    public String name() {
        return "single";
    }

    @Override
    public SequenceLayout layout() {
        return SequenceLayout.CONTIGUOUS;
    }

    @Override
    public Saved forward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        attention.forward(q, k, v, out, lse, params);
        return new Inputs(q, k, v, out, lse);
    }

    @Override
    public void backward(Saved saved, Tensor dout, Tensor dq, Tensor dk, Tensor dv) {
        Inputs in = (Inputs) saved;
        tensors.fill(dq, 0f);
        tensors.fill(dk, 0f);
        tensors.fill(dv, 0f);
        attention.backward(in.q, in.k, in.v, in.out, in.lse, dout, dq, dk, dv, params);
    }

    @Override
    public CallStats lastCall() {
        return NOTHING;
    }
}
