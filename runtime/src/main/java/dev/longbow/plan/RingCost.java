package dev.longbow.plan;

/**
 * Ring attention with the zigzag split: q stays, K/V blocks travel P-1 steps, each transfer posted
 * before the block it overlaps is computed; every step computes 1/P of the rank's balanced work.
 * Backward sends K/V together with the fp32 dK/dV accumulators around the ring.
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
        AttentionCost.Phase forward = AttentionCost.Phase.ring(p, shard.forwardSeconds(flops), links.ringStep(kv, ring), kv);
        AttentionCost.Phase backward = AttentionCost.Phase.ring(p, shard.backwardSeconds(flops), links.ringStep(kv + kvGrad, ring), kv + kvGrad);
        // double-buffered K/V and dK/dV in flight, the fp32 output and dQ accumulators
        double buffers = 2 * (kv + kvGrad) + shard.outputAccumulatorBytes() + shard.qBytes() * Shard.FP32 / shard.bytes();
        return new AttentionCost(forward, backward, buffers, 0, shard.tokens());
    }

    static void requireZigzag(long seqLen, int ranks) {
        if (seqLen % (2L * ranks) != 0) {
            throw new Infeasible("sequence " + seqLen + " not divisible into 2x" + ranks + " zigzag chunks");
        }
    }
}
