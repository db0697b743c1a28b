package dev.longbow.parallel;

import dev.longbow.backend.Backend;
import dev.longbow.comm.Communicator;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Slab;
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
 * Hkv < P divides P.
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
    public String settings(int ranks) {
        return "degree " + ranks;
    }

    /** Four shards per call; forward keeps its head-sharded q, k, v, out and lse for backward. */
    @Override
    public long bufferBound(long shardBytes, int layersKept) {
        return (4L + layersKept) * shardBytes;
    }

    static final class Attention extends RankAttention {
        private final HeadExchange exchange;

        Attention(Ulysses scheme, AttentionShape shape, Backend backend, Communicator comm) {
            super(scheme, shape, backend, comm);
            this.exchange = new HeadExchange(comm, ops, shape, n);
        }

        @Override
        public Saved forward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
            checkForward(q, k, v, out, lse);
            CallMeter meter = new CallMeter(List.of(comm));
            long s = shape.seqLen();
            long d = shape.headDim();
            Slab heads = meter.device(backend, Slab.builder()
                    .add("q", shape.dtype(), s, exchange.heads, d)
                    .add("k", shape.dtype(), s, exchange.kvHeads, d)
                    .add("v", shape.dtype(), s, exchange.kvHeads, d)
                    .add("out", shape.dtype(), s, exchange.heads, d)
                    .add("lse", DType.F32, s, exchange.heads));
            try (Slab work = meter.device(backend, exchange.declare(Slab.builder()))) {
                exchange.queriesToHeads(work, q, heads.get("q"));
                exchange.keysToHeads(work, k, heads.get("k"));
                exchange.keysToHeads(work, v, heads.get("v"));
                backend.attention().forward(heads.get("q"), heads.get("k"), heads.get("v"), heads.get("out"), heads.get("lse"), params);
                exchange.outputToSequence(work, heads.get("out"), heads.get("lse"), out, lse);
            }
            record(meter);
            return issue(new HeadsSaved(heads));
        }

        /** The head-sharded q, k, v, out, lse; backward reuses their memory to round the gradients. */
        private record HeadsSaved(Slab heads) implements Saved {
            @Override
            public void close() {
                heads.close();
            }
        }

        @Override
        public void backward(Saved saved, Tensor dout, Tensor dq, Tensor dk, Tensor dv) {
            checkBackward(dout, dq, dk, dv);
            Slab heads = spend(saved, HeadsSaved.class).heads();
            CallMeter meter = new CallMeter(List.of(comm));
            meter.alreadyHeld(heads.byteSize(), 0);
            long s = shape.seqLen();
            long d = shape.headDim();
            try (Slab work = meter.device(backend, exchange.declare(Slab.builder())
                    .add("dout", shape.dtype(), s, exchange.heads, d)
                    .add("dq", DType.F32, s, exchange.heads, d)
                    .add("dk", DType.F32, s, exchange.kvHeads, d)
                    .add("dv", DType.F32, s, exchange.kvHeads, d))) {
                exchange.queriesToHeads(work, dout, work.get("dout"));
                for (String g : new String[] {"dq", "dk", "dv"}) {
                    ops.fill(work.get(g), 0f);
                }
                backend.attention().backward(heads.get("q"), heads.get("k"), heads.get("v"), heads.get("out"), heads.get("lse"),
                        work.get("dout"), work.get("dq"), work.get("dk"), work.get("dv"), params);
                // q, k, v are spent: their memory stages the rounded gradients.
                exchange.queryGradToSequence(work, rounded(work.get("dq"), heads.get("q")), dq);
                exchange.keyGradToSequence(work, rounded(work.get("dk"), heads.get("k")), dk);
                exchange.keyGradToSequence(work, rounded(work.get("dv"), heads.get("v")), dv);
            }
            record(meter);
        }
    }
}
