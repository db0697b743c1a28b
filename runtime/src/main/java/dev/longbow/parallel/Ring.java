package dev.longbow.parallel;

import dev.longbow.backend.Backend;
import dev.longbow.backend.Pending;
import dev.longbow.comm.Communicator;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;
import java.util.List;

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
    public String settings(int ranks) {
        return "size " + ranks;
    }

    /** Four shards per call; backward reads the caller's q, k, v, out and lse, so nothing is kept. */
    @Override
    public long bufferBound(long shardBytes, int layersKept) {
        return 4L * shardBytes;
    }

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

        private Slab.Builder kvBuffers(Slab.Builder b, String prefix, DType dtype, int copies) {
            for (int i = 0; i < copies; i++) {
                b.add(prefix + "k" + i, dtype, n, shape.kvHeads(), shape.headDim());
                b.add(prefix + "v" + i, dtype, n, shape.kvHeads(), shape.headDim());
            }
            return b;
        }

        @Override
        public Saved forward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
            checkForward(q, k, v, out, lse);
            CallMeter meter = new CallMeter(List.of(comm));
            Slab.Builder declared = kvBuffers(Slab.builder(), "", shape.dtype(), ranks > 1 ? 2 : 0)
                    .add("partOut", DType.F32, n, shape.heads(), shape.headDim())
                    .add("partLse", DType.F32, n, shape.heads());
            boolean outIsF32 = out.dtype() == DType.F32;
            if (!outIsF32) {
                declared.add("out", DType.F32, n, shape.heads(), shape.headDim());
            }
            try (Slab work = meter.device(backend, declared)) {
                Tensor accOut = outIsF32 ? out : work.get("out");
                ops.fill(accOut, 0f);
                ops.fill(lse, Float.NEGATIVE_INFINITY);
                List<Span> mine = Span.zigzag(rank, ranks, shape.seqLen());
                KeyValue block = new KeyValue(k, v);
                for (int step = 0; step < ranks; step++) {
                    KeyValue next = step < ranks - 1 ? KeyValue.of(work, "", step % 2) : null;
                    Pending arriving = next == null ? Pending.DONE : block.sendRecv(comm, next(), next, prev());
                    attention.forward(q, mine, block.k(), block.v(), blockAt(step), accOut, lse, work.get("partOut"), work.get("partLse"));
                    arriving.await();
                    block = next;
                }
                store(accOut, out);
            }
            record(meter);
            return issue(new ShardInputs(q, k, v, out, lse));
        }

        @Override
        public void backward(Saved saved, Tensor dout, Tensor dq, Tensor dk, Tensor dv) {
            checkBackward(dout, dq, dk, dv);
            ShardInputs in = spend(saved, ShardInputs.class);
            CallMeter meter = new CallMeter(List.of(comm));
            Slab.Builder declared = kvBuffers(Slab.builder(), "", shape.dtype(), ranks > 1 ? 2 : 0);
            // Three fp32 gradient slots rotate: this step's block, the one being sent, the one arriving.
            kvBuffers(declared, "d", DType.F32, ranks > 1 ? 3 : 1);
            boolean dqIsF32 = dq.dtype() == DType.F32;
            if (!dqIsF32) {
                declared.add("dq", DType.F32, n, shape.heads(), shape.headDim());
            }
            try (Slab work = meter.device(backend, declared)) {
                Tensor dqAcc = dqIsF32 ? dq : work.get("dq");
                ops.fill(dqAcc, 0f);
                List<Span> mine = Span.zigzag(rank, ranks, shape.seqLen());
                KeyValue block = new KeyValue(in.k(), in.v());
                KeyValue arrived = null;
                Pending gradArriving = Pending.DONE;
                for (int step = 0; step < ranks; step++) {
                    KeyValue next = step < ranks - 1 ? KeyValue.of(work, "", step % 2) : null;
                    Pending arriving = next == null ? Pending.DONE : block.sendRecv(comm, next(), next, prev());
                    KeyValue grad = KeyValue.of(work, "d", step % 3);
                    grad.fill(ops, 0f);
                    attention.backward(in.q(), mine, block.k(), block.v(), blockAt(step), in.out(), in.lse(), dout, dqAcc, grad.k(), grad.v());
                    if (step > 0) {
                        // What the ranks before this one added to the block travelled while this step computed.
                        gradArriving.await();
                        grad.add(ops, arrived);
                    }
                    if (ranks > 1) {
                        // The sum follows the block around the ring one step behind; after R sends it is home.
                        arrived = KeyValue.of(work, "d", (step + 2) % 3);
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
