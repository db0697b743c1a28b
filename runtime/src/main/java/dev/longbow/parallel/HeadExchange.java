package dev.longbow.parallel;

import dev.longbow.backend.TensorOps;
import dev.longbow.comm.Communicator;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;

/**
 * Ulysses' all-to-all over a group of U ranks: {@code n} tokens with all heads become {@code U n}
 * tokens with H/U heads, and back. Packing is one transpose of the two leading dimensions:
 * {@code [n, U, H/U * D] -> [U, n, H/U * D]}, so block j of the all-to-all holds rank j's heads.
 *
 * <p>GQA with fewer KV heads than ranks ({@code Hkv < U}, {@code U % Hkv == 0}) replicates each KV
 * head {@code U / Hkv} times before the exchange, and sums the replicas' gradients after it.
 * Gradients travel in the caller's dtype, rounded from the fp32 accumulators by the caller.
 */
final class HeadExchange {
    private final Communicator group;
    private final TensorOps ops;
    private final int degree;
    private final long n;
    private final AttentionShape shape;
    final int kvRepeat;
    /** Heads per rank after the exchange. */
    final long heads;
    final long kvHeads;

    HeadExchange(Communicator group, TensorOps ops, AttentionShape shape, long n) {
        this.group = group;
        this.ops = ops;
        this.degree = group.size();
        this.n = n;
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

    /** The scratch the exchange packs through, declared into the caller's slab. */
    Slab.Builder declare(Slab.Builder b) {
        long d = shape.headDim();
        b.add("packedQ", shape.dtype(), degree, n, heads * d)
                .add("packedKv", shape.dtype(), degree, n, kvHeads * d)
                .add("packedLse", DType.F32, degree, n, heads);
        if (kvRepeat > 1) {
            b.add("kvRepeated", shape.dtype(), n, (long) shape.kvHeads() * kvRepeat, d);
        }
        return b;
    }

    /** Rows of the head-sharded side. */
    long rows() {
        return degree * n;
    }

    void queriesToHeads(Slab s, Tensor local, Tensor headsOut) {
        toHeads(local, s.get("packedQ"), headsOut);
    }

    void keysToHeads(Slab s, Tensor local, Tensor headsOut) {
        Tensor src = local;
        if (kvRepeat > 1) {
            src = s.get("kvRepeated");
            ops.repeatHeads(local, src);
        }
        toHeads(src, s.get("packedKv"), headsOut);
    }

    void outputToSequence(Slab s, Tensor outHeads, Tensor lseHeads, Tensor out, Tensor lse) {
        toSequence(outHeads, s.get("packedQ"), out);
        toSequence(lseHeads.view(rows(), heads, 1), s.get("packedLse"), lse.view(n, shape.heads(), 1));
    }

    /** Sends a gradient of the head-sharded queries home; it travels in dq's dtype. */
    void queryGradToSequence(Slab s, Tensor gradHeads, Tensor dq) {
        toSequence(gradHeads, s.get("packedQ"), dq);
    }

    /** Sends a gradient of the head-sharded keys or values home, summing the replicas of a KV head. */
    void keyGradToSequence(Slab s, Tensor gradHeads, Tensor dk) {
        Tensor packed = s.get("packedKv");
        if (kvRepeat > 1) {
            Tensor replicas = s.get("kvRepeated");
            toSequence(gradHeads, packed, replicas);
            ops.sumRepeatedHeads(replicas, dk);
        } else {
            toSequence(gradHeads, packed, dk);
        }
    }

    private void toHeads(Tensor local, Tensor packed, Tensor headsOut) {
        long width = packed.dim(2);
        ops.swapLeadingDims(local.view(n, degree, width), packed);
        group.allToAll(packed, headsOut.view(rows(), width));
    }

    private void toSequence(Tensor headsIn, Tensor packed, Tensor local) {
        long width = packed.dim(2);
        group.allToAll(headsIn.view(rows(), width), packed);
        ops.swapLeadingDims(packed, local.view(n, degree, width));
    }
}
