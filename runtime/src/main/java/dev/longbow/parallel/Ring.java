package dev.longbow.parallel;

import dev.longbow.backend.Backend;
import dev.longbow.backend.Pending;
import dev.longbow.comm.Communicator;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Ring attention with the zigzag split (context parallelism). The sequence is cut into 2R chunks
 * and rank r of the ring holds chunks r and 2R-1-r, which gives every rank the same share of the
 * causal mask. Queries stay; K/V blocks travel the ring in R-1 steps, each transfer posted before
 * the current block is computed, and the partial results merge through their log-sum-exp into
 * fp32 accumulators. Backward: K/V travel again and the fp32 dK/dV sums travel with them one step
 * behind, arriving home after R transfers. As in ring-flash-attention, each step computes its block's
 * gradient into a fresh buffer and only then adds the sum that arrived from the previous rank, so
 * that transfer travels while the step computes.
 *
 * <p>Per rank: forward R-1 K/V blocks each way; backward R-1 K/V blocks plus R fp32 dK/dV blocks.
 */
public record Ring() implements Scheme {
    /** The name on the command line. */
    public static final String NAME = "ring";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void validate(int ranks, AttentionShape shape) {
        shape.localLen(ranks);
        Span.requireZigzag("Ring", shape.seqLen(), ranks);
    }

    @Override
    public SequenceLayout layout() {
        return SequenceLayout.ZIGZAG;
    }

    @Override
    public SequenceParallelAttention attention(AttentionShape shape, Backend backend, Communicator comm) {
        return new Attention(this, shape, backend, comm);
    }

    @Override
    public CallSchedule schedule(int ranks, AttentionShape shape) {
        validate(ranks, shape);
        return RingSchedule.of(shape, ranks);
    }

    @Override
    public String settings(int ranks) {
        return "size " + ranks;
    }

    /** Four shards per call; backward reads the caller's q, k, v, out and lse, so nothing is kept. */
    @Override
    public long bufferBound(long shardBytes, int layersKept) {
        return 4L * shardBytes;
    }

    /** This rank's Ring attention. */
    static final class Attention extends RankAttention {
        private final int ranks;
        private final int rank;
        private final BlockAttention attention;

        Attention(Ring scheme, AttentionShape shape, Backend backend, Communicator ring) {
            super(scheme, shape, backend, ring);
            this.ranks = ring.size();
            this.rank = ring.rank();
            this.attention = new BlockAttention(backend.attention(), params);
        }

        private int next() {
            return (rank + 1) % ranks;
        }

        private int prev() {
            return (rank + ranks - 1) % ranks;
        }

        /** The positions of the K/V block that reaches this rank at step j: it started on rank r - j. */
        private List<Span> blockAt(int step) {
            return Span.zigzag((rank - step + ranks) % ranks, ranks, shape.seqLen());
        }

        /**
         * Forward's buffers: two slots for the K/V blocks passing through (none on one rank), the
         * fp32 result of one block, and the fp32 output accumulator when the caller's output is not
         * fp32 (else null: the caller's output accumulates itself).
         */
        private record ForwardBuffers(Slab slab, List<KeyValue> blocks, AttentionOut part, Tensor out) implements AutoCloseable {
            @Override
            public void close() {
                slab.close();
            }
        }

        private ForwardBuffers forwardBuffers(CallMeter meter, boolean outIsF32) {
            Slab.Builder b = Slab.builder();
            int slots = ranks > 1 ? 2 : 0;
            for (int i = 0; i < slots; i++) {
                KeyValue.declare(b, "" + i, shape.dtype(), localLen, shape.kvHeads(), shape.headDim());
            }
            b.add("partOut", DType.F32, localLen, shape.heads(), shape.headDim()).add("partLse", DType.F32, localLen, shape.heads());
            if (!outIsF32) {
                b.add("out", DType.F32, localLen, shape.heads(), shape.headDim());
            }
            Slab s = meter.device(backend, b);
            List<KeyValue> blocks = IntStream.range(0, slots).mapToObj(i -> KeyValue.in(s, "" + i)).toList();
            return new ForwardBuffers(s, blocks, new AttentionOut(s.get("partOut"), s.get("partLse")), outIsF32 ? null : s.get("out"));
        }

        /**
         * Backward's buffers: two slots for the K/V blocks passing through, three fp32 dK/dV slots
         * that rotate (this step's block, the one being sent, the one arriving; one on one rank),
         * and the fp32 dQ accumulator when the caller's dq is not fp32 (else null).
         */
        private record BackwardBuffers(Slab slab, List<KeyValue> blocks, List<KeyValue> grads, Tensor dq) implements AutoCloseable {
            @Override
            public void close() {
                slab.close();
            }
        }

        private BackwardBuffers backwardBuffers(CallMeter meter, boolean dqIsF32) {
            Slab.Builder b = Slab.builder();
            int slots = ranks > 1 ? 2 : 0;
            int gradSlots = ranks > 1 ? 3 : 1;
            for (int i = 0; i < slots; i++) {
                KeyValue.declare(b, "" + i, shape.dtype(), localLen, shape.kvHeads(), shape.headDim());
            }
            for (int i = 0; i < gradSlots; i++) {
                KeyValue.declare(b, "d" + i, DType.F32, localLen, shape.kvHeads(), shape.headDim());
            }
            if (!dqIsF32) {
                b.add("dq", DType.F32, localLen, shape.heads(), shape.headDim());
            }
            Slab s = meter.device(backend, b);
            return new BackwardBuffers(s, IntStream.range(0, slots).mapToObj(i -> KeyValue.in(s, "" + i)).toList(),
                    IntStream.range(0, gradSlots).mapToObj(i -> KeyValue.in(s, "d" + i)).toList(), dqIsF32 ? null : s.get("dq"));
        }

        @Override
        public Saved forward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
            checkForward(q, k, v, out, lse);
            CallMeter meter = new CallMeter(List.of(comm));
            try (ForwardBuffers w = forwardBuffers(meter, out.dtype() == DType.F32)) {
                AttentionOut acc = new AttentionOut(w.out() != null ? w.out() : out, lse);
                acc.clear(ops);
                List<Span> mine = Span.zigzag(rank, ranks, shape.seqLen());
                KeyValue block = new KeyValue(k, v);
                for (int step = 0; step < ranks; step++) {
                    KeyValue next = step < ranks - 1 ? w.blocks().get(step % 2) : null;
                    Pending arriving = next == null ? Pending.DONE : block.sendRecv(comm, next(), next, prev());
                    attention.forward(q, mine, block, blockAt(step), acc, w.part());
                    arriving.await();
                    block = next;
                }
                store(acc.out(), out);
            }
            record(meter);
            return issue(new ShardInputs(q, new KeyValue(k, v), new AttentionOut(out, lse)));
        }

        @Override
        public void backward(Saved saved, Tensor dout, Tensor dq, Tensor dk, Tensor dv) {
            checkBackward(dout, dq, dk, dv);
            ShardInputs in = spend(saved, ShardInputs.class);
            CallMeter meter = new CallMeter(List.of(comm));
            try (BackwardBuffers w = backwardBuffers(meter, dq.dtype() == DType.F32)) {
                Tensor dqAcc = w.dq() != null ? w.dq() : dq;
                ops.fill(dqAcc, 0f);
                Queries queries = new Queries(in.q(), in.result().out(), in.result().lse(), dout);
                List<Span> mine = Span.zigzag(rank, ranks, shape.seqLen());
                KeyValue block = in.kv();
                KeyValue arrived = null;
                Pending gradArriving = Pending.DONE;
                for (int step = 0; step < ranks; step++) {
                    KeyValue next = step < ranks - 1 ? w.blocks().get(step % 2) : null;
                    Pending arriving = next == null ? Pending.DONE : block.sendRecv(comm, next(), next, prev());
                    KeyValue grad = w.grads().get(step % 3);
                    grad.fill(ops, 0f);
                    attention.backward(queries, mine, block, blockAt(step), new Gradients(dqAcc, grad));
                    if (step > 0) {
                        // What the ranks before this one added to the block travelled while this step computed.
                        gradArriving.await();
                        grad.add(ops, arrived);
                    }
                    if (ranks > 1) {
                        // The sum follows the block around the ring one step behind; after R sends it is home.
                        arrived = w.grads().get((step + 2) % 3);
                        gradArriving = grad.sendRecv(comm, next(), arrived, prev());
                    } else {
                        arrived = grad;
                    }
                    arriving.await();
                    block = next;
                }
                gradArriving.await();
                store(dqAcc, dq);
                ops.convert(arrived.k(), dk);
                ops.convert(arrived.v(), dv);
            }
            record(meter);
        }
    }
}
