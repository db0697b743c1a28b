package dev.longbow.parallel;

import dev.longbow.backend.Backend;
import dev.longbow.comm.Communicator;
import dev.longbow.tensor.Tensor;
import java.util.List;

/**
 * Unified sequence parallelism (USP, "2D attention"): Ulysses inside groups of U adjacent ranks,
 * Ring across the R = P / U groups. The sequence is zigzag-split over the groups; rank u of a group
 * holds 1/U of its group's share. Ulysses' all-to-all gives each rank the group's whole share for
 * H/U heads, those shares run Ring attention with the ranks of equal u in the other groups, and a
 * second all-to-all brings the output home. Heads need only divide by U, not by P.
 */
public record Hybrid(int ulyssesDegree) implements Scheme {
    /** The name on the command line. */
    public static final String NAME = "hybrid";

    /** @param ulyssesDegree U: the ranks of one Ulysses group, at least 1 */
    public Hybrid {
        if (ulyssesDegree < 1) {
            throw new IllegalArgumentException("Hybrid Ulysses degree " + ulyssesDegree + " must be at least 1");
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void validate(int ranks, AttentionShape shape) {
        shape.localLen(ranks);
        if (ranks % ulyssesDegree != 0) {
            throw new IllegalArgumentException("Hybrid Ulysses degree " + ulyssesDegree + " must divide ranks " + ranks);
        }
        HeadExchange.requireSplit("Hybrid's Ulysses groups", shape, ulyssesDegree, ranks);
        Span.requireZigzag("Hybrid's ring of " + ranks / ulyssesDegree + " groups", shape.seqLen(), ranks / ulyssesDegree);
    }

    /** The groups' shares are zigzag chunks; rank u of a group holds the u-th part of its group's. */
    @Override
    public SequenceLayout layout() {
        int u = ulyssesDegree;
        return (rank, ranks, seqLen, i) ->
                SequenceLayout.ZIGZAG.globalPosition(rank / u, ranks / u, seqLen, rank % u * (seqLen / ranks) + i);
    }

    @Override
    public SequenceParallelAttention attention(AttentionShape shape, Backend backend, Communicator comm) {
        return new Attention(this, shape, backend, comm);
    }

    @Override
    public CallSchedule schedule(int ranks, AttentionShape shape) {
        validate(ranks, shape);
        return HybridSchedule.of(shape, ranks, ulyssesDegree);
    }

    @Override
    public String settings(int ranks) {
        return "ulysses " + ulyssesDegree + " x ring " + ranks / ulyssesDegree;
    }

    /** Four shards per call; forward keeps its groups' head-sharded q, k, v, out and lse for backward. */
    @Override
    public long bufferBound(long shardBytes, int layersKept) {
        return (4L + layersKept) * shardBytes;
    }

    /** This rank's Hybrid attention: its Ulysses group's exchange around its ring group's Ring attention. */
    static final class Attention extends RankAttention {
        private final int degree;
        private final Communicator ulyssesGroup;
        private final Communicator ringGroup;
        private final HeadExchange exchange;
        private final Ring.Attention ring;

        Attention(Hybrid scheme, AttentionShape shape, Backend backend, Communicator comm) {
            super(scheme, shape, backend, comm);
            this.degree = scheme.ulyssesDegree();
            this.ulyssesGroup = comm.split(comm.rank() / degree, comm.rank() % degree);
            this.ringGroup = comm.split(comm.rank() % degree, comm.rank() / degree);
            this.exchange = new HeadExchange(ulyssesGroup, ops, shape, localLen);
            AttentionShape perGroup = new AttentionShape(shape.seqLen(), Math.toIntExact(exchange.heads),
                    Math.toIntExact(exchange.kvHeads), shape.headDim(), shape.dtype(), shape.causal());
            try {
                this.ring = new Ring.Attention(new Ring(), perGroup, backend, ringGroup);
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        @Override
        public void close() {
            ulyssesGroup.close();
            ringGroup.close();
        }

        /** The group's head-sharded q, k, v, out, lse and what the ring saved. */
        private record GroupSaved(HeadExchange.Heads heads, Saved ring) implements Saved {
            @Override
            public void close() {
                ring.close();
                heads.close();
            }
        }

        @Override
        public Saved forward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
            checkForward(q, k, v, out, lse);
            CallMeter meter = new CallMeter(List.of(ulyssesGroup));
            HeadExchange.Heads heads = exchange.heads(meter, backend);
            Saved ringSaved;
            try (HeadExchange.Scratch x = exchange.scratch(meter, backend)) {
                exchange.queriesToHeads(x, q, heads.q());
                exchange.keysToHeads(x, new KeyValue(k, v), heads.kv());
                ringSaved = ring.forward(heads.q(), heads.kv().k(), heads.kv().v(), heads.result().out(), heads.result().lse());
                meter.nested(ring.lastCall());
                exchange.outputToSequence(x, heads.result(), new AttentionOut(out, lse));
            }
            record(meter);
            return issue(new GroupSaved(heads, ringSaved));
        }

        @Override
        public void backward(Saved saved, Tensor dout, Tensor dq, Tensor dk, Tensor dv) {
            checkBackward(dout, dq, dk, dv);
            GroupSaved s = spend(saved, GroupSaved.class);
            CallMeter meter = new CallMeter(List.of(ulyssesGroup));
            meter.alreadyHeld(s.heads().slab().byteSize(), 0);
            try (HeadExchange.Scratch x = exchange.scratch(meter, backend);
                 HeadExchange.HeadGradients g = exchange.gradients(meter, backend, shape.dtype())) {
                exchange.queriesToHeads(x, dout, g.dout());
                ring.backward(s.ring(), g.dout(), g.grads().dq(), g.grads().dkv().k(), g.grads().dkv().v());
                meter.nested(ring.lastCall());
                exchange.queryGradToSequence(x, g.grads().dq(), dq);
                exchange.keyGradToSequence(x, g.grads().dkv().k(), dk);
                exchange.keyGradToSequence(x, g.grads().dkv().v(), dv);
            }
            record(meter);
        }
    }
}
