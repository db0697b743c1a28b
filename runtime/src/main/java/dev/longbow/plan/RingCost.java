package dev.longbow.plan;

/**
 * Ring attention with the zigzag split: q stays, K/V blocks travel P-1 steps, each transfer posted
 * before the block it overlaps is computed; every step computes 1/P of the rank's balanced work.
 * Backward fetches K/V the same way; each step computes its block's fp32 dK/dV fresh, adds the sum
 * that arrived meanwhile and sends it on, so a sum travels while the next step computes (P sends,
 * the last one home, which nothing overlaps).
 */
final class RingCost {
    private RingCost() {
    }

    static AttentionCost of(Shard shard, Links links, int[] ring) {
        int p = ring.length;
        requireZigzag(shard.seqLen(), p);
        double kv = shard.kvBytes();
        Steps steps = Steps.of(shard, shard.seqLen() / p, shard.model().heads(), shard.model().kvHeads());
        AttentionCost.Phase forward = AttentionCost.Phase.ring(p, steps.firstForward(), steps.forward(), links.ringStep(kv, ring), kv,
                links.spansNodes(ring));
        AttentionCost.Phase backward = backward(shard, p, steps, kv, links, ring);
        return new AttentionCost(forward, backward, forwardBuffers(shard, p, kv), backwardBuffers(shard, p, kv), 0, shard.tokens());
    }

    /**
     * The compute of a zigzag ring's steps, forward and backward: the first step's, whose blocks
     * hold the causal diagonal, and any later one's. A block is two chunks; under a causal mask a
     * step issues one call per chunk pair the mask leaves visible, the first step two diagonal
     * calls and one whole, each later step two whole calls (the same FLOPs); without a mask a step
     * is one call of block against block.
     */
    record Steps(double firstForward, double forward, double firstBackward, double backward) {

        /** Steps whose query and key blocks both hold {@code block} tokens on {@code heads} query heads. */
        static Steps of(Shard shard, long block, int heads, int kvHeads) {
            if (!shard.causal()) {
                AttentionCall whole = shard.call(block, block, heads, kvHeads, false);
                return new Steps(shard.forwardSeconds(whole, 1), shard.forwardSeconds(whole, 1),
                        shard.backwardSeconds(whole, 1), shard.backwardSeconds(whole, 1));
            }
            AttentionCall whole = shard.call(block / 2, block / 2, heads, kvHeads, false);
            AttentionCall diagonal = shard.call(block / 2, block / 2, heads, kvHeads, true);
            return new Steps(shard.forwardSeconds(diagonal, 2) + shard.forwardSeconds(whole, 1), shard.forwardSeconds(whole, 2),
                    shard.backwardSeconds(diagonal, 2) + shard.backwardSeconds(whole, 1), shard.backwardSeconds(whole, 2));
        }
    }

    /** The backward ring: K/V blocks fetched under the compute, their gradient sums one step behind. */
    static AttentionCost.Phase backward(Shard shard, int p, Steps compute, double kv, Links links, int[] ring) {
        boolean network = links.spansNodes(ring);
        double kvGrad = shard.fp32(kv);
        double sumStep = links.ringStep(kvGrad, ring);
        AttentionCost.Phase steps = AttentionCost.Phase.trailingRing(p, compute.firstBackward(), compute.backward(), links.ringStep(kv, ring),
                kv, sumStep, kvGrad, network);
        return p == 1 ? steps : steps.then(AttentionCost.Phase.blocking(0, sumStep, kvGrad, network));
    }

    /**
     * Forward's slab for K/V blocks of {@code kv} bytes: the block arriving and the one passed on
     * (the rank's own is the caller's), the fp32 partial output and log-sum-exp, and the fp32
     * output accumulator unless the caller's output is fp32.
     */
    static double forwardBuffers(Shard shard, int p, double kv) {
        return (p > 1 ? 2 * kv : 0) + shard.outputAccumulatorBytes() + shard.fp32Staging(shard.fp32(shard.qBytes()));
    }

    /** Backward's slab: two K/V blocks, three fp32 dK/dV slots (computed, sent, arriving), the fp32 dQ unless the caller's is. */
    static double backwardBuffers(Shard shard, int p, double kv) {
        return (p > 1 ? 2 * kv + 3 * shard.fp32(kv) : shard.fp32(kv)) + shard.fp32Staging(shard.fp32(shard.qBytes()));
    }

    static void requireZigzag(long seqLen, int ranks) {
        if (seqLen % (2L * ranks) != 0) {
            throw new Infeasible("sequence " + seqLen + " not divisible into 2x" + ranks + " zigzag chunks");
        }
    }
}
