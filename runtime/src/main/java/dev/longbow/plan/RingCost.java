package dev.longbow.plan;

/**
 * Ring attention with the zigzag split: q stays, K/V blocks travel P-1 steps, each transfer posted
 * before the block it overlaps is computed; every step computes 1/P of the rank's balanced work.
 * Backward fetches K/V the same way, and each block's fp32 dK/dV accumulators follow it around the
 * ring after the block is computed (P sends, the last one home): Longbow's Ring waits for that
 * transfer before the next block, so it is on the critical path.
 */
final class RingCost {
    private RingCost() {
    }

    static AttentionCost of(Shard shard, Links links, int[] ring) {
        int p = ring.length;
        requireZigzag(shard.seqLen(), p);
        double kv = shard.kvBytes();
        double kvGrad = kv * Shard.FP32 / shard.bytes();
        double flops = shard.attentionFlops() / p;
        boolean network = links.spansNodes(ring);
        AttentionCost.Phase forward = AttentionCost.Phase.ring(p, shard.forwardSeconds(flops), links.ringStep(kv, ring), kv, network);
        AttentionCost.Phase backward = backward(p, shard.backwardSeconds(flops), kv, kvGrad, links, ring);
        // double-buffered K/V and dK/dV in flight, the fp32 output and dQ accumulators
        double buffers = 2 * (kv + kvGrad) + shard.outputAccumulatorBytes() + shard.qBytes() * Shard.FP32 / shard.bytes();
        return new AttentionCost(forward, backward, buffers, 0, shard.tokens());
    }

    /** The backward ring: K/V blocks fetched under the compute, their gradients sent after it. */
    static AttentionCost.Phase backward(int p, double computePerStep, double kv, double kvGrad, Links links, int[] ring) {
        boolean network = links.spansNodes(ring);
        int gradientSends = p > 1 ? p : 0;
        return AttentionCost.Phase.ring(p, computePerStep, links.ringStep(kv, ring), kv, network)
                .then(AttentionCost.Phase.blocking(0, gradientSends * links.ringStep(kvGrad, ring), gradientSends * kvGrad, network));
    }

    static void requireZigzag(long seqLen, int ranks) {
        if (seqLen % (2L * ranks) != 0) {
            throw new Infeasible("sequence " + seqLen + " not divisible into 2x" + ranks + " zigzag chunks");
        }
    }
}
