package dev.longbow.parallel;

import dev.longbow.backend.Backend;
import dev.longbow.backend.TensorOps;
import dev.longbow.comm.Communicator;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;

/**
 * Ulysses' all-to-all over a group of U ranks: {@code localLen} tokens with all heads become
 * {@code U localLen} tokens with H/U heads, and back. Packing is one transpose of the two leading
 * dimensions, {@code [localLen, U, H/U * D] -> [U, localLen, H/U * D]}, so block j of the all-to-all
 * holds rank j's heads.
 *
 * <p>GQA with fewer KV heads than ranks ({@code Hkv < U}, {@code U % Hkv == 0}) replicates each KV
 * head {@code U / Hkv} times before the exchange, and sums the replicas' gradients after it.
 * Gradients travel in the caller's dtype, rounded from the fp32 accumulators by the caller.
 */
final class HeadExchange {
    private final Communicator group;
    private final TensorOps ops;
    private final int degree;
    private final long localLen;
    private final AttentionShape shape;
    final int kvRepeat;
    /** Heads per rank after the exchange. */
    final long heads;
    final long kvHeads;

    /** Exchanges {@code localLen} tokens per rank over {@code group}. */
    HeadExchange(Communicator group, TensorOps ops, AttentionShape shape, long localLen) {
        this.group = group;
        this.ops = ops;
        this.degree = group.size();
        this.localLen = localLen;
        this.shape = shape;
        this.kvRepeat = shape.kvHeads() < degree ? degree / shape.kvHeads() : 1;
        this.heads = shape.heads() / degree;
        this.kvHeads = (long) shape.kvHeads() * kvRepeat / degree;
    }

    /**
     * Throws naming the fix unless the heads split over {@code degree} ranks of {@code ranks}: the
     * query heads evenly, the KV heads evenly or, when fewer than the degree and dividing it, by
     * replication.
     */
    static void requireSplit(String who, AttentionShape shape, int degree, int ranks) {
        String of = degree == ranks ? "ranks " : "Ulysses degree ";
        if (shape.heads() % degree != 0) {
            throw new IllegalArgumentException("heads " + shape.heads() + " not divisible by " + of + degree + " (" + who + " needs Hq % "
                    + (degree == ranks ? "P" : "U") + " == 0; use hybrid or wallfacer)");
        }
        int kv = shape.kvHeads();
        if (kv % degree != 0 && !(kv < degree && degree % kv == 0)) {
            throw new IllegalArgumentException("kv heads " + kv + " cannot be split over " + degree + " ranks (" + who
                    + " needs Hkv % " + degree + " == 0, or Hkv < " + degree + " dividing it so KV heads can be replicated)");
        }
    }

    /**
     * The buffers the exchange packs through, in their own slab: one per kind of tensor it moves,
     * and the replicated K or V when there are fewer KV heads than ranks (else null).
     */
    record Scratch(Slab slab, Tensor packedQ, Tensor packedKv, Tensor packedLse, Tensor kvRepeated) implements AutoCloseable {
        @Override
        public void close() {
            slab.close();
        }
    }

    Scratch scratch(CallMeter meter, Backend backend) {
        long d = shape.headDim();
        Slab.Builder b = Slab.builder()
                .add("packedQ", shape.dtype(), degree, localLen, heads * d)
                .add("packedKv", shape.dtype(), degree, localLen, kvHeads * d)
                .add("packedLse", DType.F32, degree, localLen, heads);
        if (kvRepeat > 1) {
            b.add("kvRepeated", shape.dtype(), localLen, (long) shape.kvHeads() * kvRepeat, d);
        }
        Slab s = meter.device(backend, b);
        return new Scratch(s, s.get("packedQ"), s.get("packedKv"), s.get("packedLse"), kvRepeat > 1 ? s.get("kvRepeated") : null);
    }

    /**
     * The head-sharded side: q, k, v, out (in the inputs' dtype) and the fp32 lse of every token of
     * the group for this rank's heads, which forward keeps for backward.
     */
    record Heads(Slab slab, Tensor q, KeyValue kv, AttentionOut result) implements SequenceParallelAttention.Saved {
        @Override
        public void close() {
            slab.close();
        }
    }

    Heads heads(CallMeter meter, Backend backend) {
        long d = shape.headDim();
        Slab s = meter.device(backend, KeyValue.declare(Slab.builder().add("q", shape.dtype(), rows(), heads, d), "", shape.dtype(),
                        rows(), kvHeads, d)
                .add("out", shape.dtype(), rows(), heads, d)
                .add("lse", DType.F32, rows(), heads));
        return new Heads(s, s.get("q"), KeyValue.in(s, ""), new AttentionOut(s.get("out"), s.get("lse")));
    }

    /** The head-sharded dO (in the inputs' dtype) and dQ, dK, dV that backward computes from it. */
    record HeadGradients(Slab slab, Tensor dout, Gradients grads) implements AutoCloseable {
        @Override
        public void close() {
            slab.close();
        }
    }

    /** Head-sharded gradients, dQ, dK and dV in {@code dtype}. */
    HeadGradients gradients(CallMeter meter, Backend backend, DType dtype) {
        long d = shape.headDim();
        Slab s = meter.device(backend, KeyValue.declare(Slab.builder()
                .add("dout", shape.dtype(), rows(), heads, d)
                .add("dq", dtype, rows(), heads, d), "d", dtype, rows(), kvHeads, d));
        return new HeadGradients(s, s.get("dout"), new Gradients(s.get("dq"), KeyValue.in(s, "d")));
    }

    /** Rows of the head-sharded side. */
    long rows() {
        return degree * localLen;
    }

    void queriesToHeads(Scratch x, Tensor local, Tensor headsOut) {
        toHeads(local, x.packedQ(), headsOut);
    }

    void keysToHeads(Scratch x, Tensor local, Tensor headsOut) {
        Tensor src = local;
        if (kvRepeat > 1) {
            src = x.kvRepeated();
            ops.repeatHeads(local, src);
        }
        toHeads(src, x.packedKv(), headsOut);
    }

    /** K and V to heads, one after the other. */
    void keysToHeads(Scratch x, KeyValue local, KeyValue headsOut) {
        keysToHeads(x, local.k(), headsOut.k());
        keysToHeads(x, local.v(), headsOut.v());
    }

    void outputToSequence(Scratch x, AttentionOut heads, AttentionOut local) {
        toSequence(heads.out(), x.packedQ(), local.out());
        toSequence(heads.lse().view(rows(), this.heads, 1), x.packedLse(), local.lse().view(localLen, shape.heads(), 1));
    }

    /** Sends a gradient of the head-sharded queries home; it travels in dq's dtype. */
    void queryGradToSequence(Scratch x, Tensor gradHeads, Tensor dq) {
        toSequence(gradHeads, x.packedQ(), dq);
    }

    /** Sends a gradient of the head-sharded keys or values home, summing the replicas of a KV head. */
    void keyGradToSequence(Scratch x, Tensor gradHeads, Tensor dk) {
        if (kvRepeat > 1) {
            toSequence(gradHeads, x.packedKv(), x.kvRepeated());
            ops.sumRepeatedHeads(x.kvRepeated(), dk);
        } else {
            toSequence(gradHeads, x.packedKv(), dk);
        }
    }

    private void toHeads(Tensor local, Tensor packed, Tensor headsOut) {
        long width = packed.dim(2);
        ops.swapLeadingDims(local.view(localLen, degree, width), packed);
        group.allToAll(packed, headsOut.view(rows(), width));
    }

    private void toSequence(Tensor headsIn, Tensor packed, Tensor local) {
        long width = packed.dim(2);
        group.allToAll(headsIn.view(rows(), width), packed);
        ops.swapLeadingDims(packed, local.view(localLen, degree, width));
    }
}
