package dev.longbow.parallel;

import java.util.ArrayList;
import java.util.List;

/**
 * {@link Ring}'s call as data: q stays, K/V blocks travel P-1 steps, each transfer posted before
 * the block it overlaps is computed. Backward fetches K/V the same way; each step computes its
 * block's fp32 dK/dV fresh, adds the sum that arrived meanwhile and sends it on, so a sum travels
 * while the next step computes (P sends, the last one home, which nothing hides).
 */
final class RingSchedule {
    private RingSchedule() {
    }

    static CallSchedule of(AttentionShape shape, int ranks) {
        ShardBytes s = new ShardBytes(shape, ranks);
        int[] ring = Transfer.strided(0, ranks, 1);
        long kv = s.kv();
        RingSteps steps = RingSteps.of(s, shape.seqLen() / ranks, shape.heads(), shape.kvHeads());
        Transfer sum = Transfer.ringStep(s.fp32(kv), ring);
        return new CallSchedule(steps.forward(ranks, Transfer.ringStep(kv, ring)), backward(steps, ranks, kv, sum, ring),
                forwardBuffers(s, ranks, kv), backwardBuffers(s, ranks, kv), 0, s.tokens());
    }

    /** The backward ring of K/V blocks of {@code kv} bytes with their gradient sums, and the last sum's trip home. */
    static List<Step> backward(RingSteps steps, int ranks, long kv, Transfer sum, int[] ring) {
        List<Step> backward = new ArrayList<>(steps.backward(ranks, Transfer.ringStep(kv, ring), sum));
        if (ranks > 1) {
            backward.add(Step.blocking(sum));
        }
        return backward;
    }

    /**
     * Forward's slab for K/V blocks of {@code kv} bytes: the block arriving and the one passed on
     * (the rank's own is the caller's), the fp32 partial output and log-sum-exp, and the fp32
     * output accumulator unless the caller's output is fp32.
     */
    static long forwardBuffers(ShardBytes s, int ranks, long kv) {
        return (ranks > 1 ? 2 * kv : 0) + s.outputAccumulator() + s.fp32Staging(s.fp32(s.q()));
    }

    /** Backward's slab: two K/V blocks, three fp32 dK/dV slots (computed, sent, arriving), the fp32 dQ unless the caller's is. */
    static long backwardBuffers(ShardBytes s, int ranks, long kv) {
        return (ranks > 1 ? 2 * kv + 3 * s.fp32(kv) : s.fp32(kv)) + s.fp32Staging(s.fp32(s.q()));
    }
}
