package dev.longbow.parallel;

import dev.longbow.backend.Backend;
import dev.longbow.comm.Communicator;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import java.util.List;

/**
 * DeepSpeed-Ulysses (arXiv 2309.14509). Rank r holds tokens {@code [r S/P, (r+1) S/P)} with all
 * heads; an all-to-all turns that into all S tokens of heads {@code [r H/P, (r+1) H/P)}, each rank
 * runs ordinary attention on its heads, and a second all-to-all brings the output back to the
 * token shard. Backward mirrors it: dout goes to heads, dq, dk, dv come back.
 *
 * <p>Per rank and call each all-to-all moves (P-1)/P of the tensor: about 4 S h / P for q, k, v,
 * out, constant when S and P grow together. Needs Hq % P == 0; KV heads are replicated when
 * Hkv &lt; P divides P.
 */
public record Ulysses() implements Scheme {
    /** The name on the command line. */
    public static final String NAME = "ulysses";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void validate(int ranks, AttentionShape shape) {
        shape.localLen(ranks);
        HeadExchange.requireSplit("Ulysses", shape, ranks, ranks);
    }

    @Override
    public SequenceLayout layout() {
        return SequenceLayout.CONTIGUOUS;
    }

    @Override
    public SequenceParallelAttention attention(AttentionShape shape, Backend backend, Communicator comm) {
        return new Attention(this, shape, backend, comm);
    }

    @Override
    public CallSchedule schedule(int ranks, AttentionShape shape) {
        validate(ranks, shape);
        return UlyssesSchedule.of(shape, ranks);
    }

    @Override
    public String settings(int ranks) {
        return "degree " + ranks;
    }

    /** Four shards per call; forward keeps its head-sharded q, k, v, out and lse for backward. */
    @Override
    public long bufferBound(long shardBytes, int layersKept) {
        return (4L + layersKept) * shardBytes;
    }

    /** This rank's Ulysses attention. */
    static final class Attention extends RankAttention {
        private final HeadExchange exchange;
        private final BlockAttention attention;

        Attention(Ulysses scheme, AttentionShape shape, Backend backend, Communicator comm) {
            super(scheme, shape, backend, comm);
            this.exchange = new HeadExchange(comm, ops, shape, localLen);
            this.attention = new BlockAttention(backend.attention(), params);
        }

        @Override
        public Saved forward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
            checkForward(q, k, v, out, lse);
            CallMeter meter = new CallMeter(List.of(comm));
            HeadExchange.Heads heads = exchange.heads(meter, backend);
            try (HeadExchange.Scratch x = exchange.scratch(meter, backend)) {
                exchange.queriesToHeads(x, q, heads.q());
                exchange.keysToHeads(x, new KeyValue(k, v), heads.kv());
                attention.whole(heads.q(), heads.kv(), heads.result());
                exchange.outputToSequence(x, heads.result(), new AttentionOut(out, lse));
            }
            record(meter);
            return issue(heads);
        }

        @Override
        public void backward(Saved saved, Tensor dout, Tensor dq, Tensor dk, Tensor dv) {
            checkBackward(dout, dq, dk, dv);
            HeadExchange.Heads heads = spend(saved, HeadExchange.Heads.class);
            CallMeter meter = new CallMeter(List.of(comm));
            meter.alreadyHeld(heads.slab().byteSize(), 0);
            try (HeadExchange.Scratch x = exchange.scratch(meter, backend);
                 HeadExchange.HeadGradients g = exchange.gradients(meter, backend, DType.F32)) {
                exchange.queriesToHeads(x, dout, g.dout());
                g.grads().clear(ops);
                attention.whole(new Queries(heads.q(), heads.result().out(), heads.result().lse(), g.dout()), heads.kv(), g.grads());
                // q, k, v are spent: their memory stages the rounded gradients.
                exchange.queryGradToSequence(x, rounded(g.grads().dq(), heads.q()), dq);
                exchange.keyGradToSequence(x, rounded(g.grads().dkv().k(), heads.kv().k()), dk);
                exchange.keyGradToSequence(x, rounded(g.grads().dkv().v(), heads.kv().v()), dv);
            }
            record(meter);
        }
    }
}
