package dev.longbow.parallel;

import java.util.ArrayList;
import java.util.List;

/**
 * {@link Hybrid}'s call as data: Ulysses inside groups of U adjacent ranks, Ring across the R
 * groups (USP). The all-to-all gives each rank S/R tokens on H/U heads, whose K/V then travel a
 * ring of the ranks of equal position in their groups.
 */
final class HybridSchedule {
    private HybridSchedule() {
    }

    static CallSchedule of(AttentionShape shape, int ranks, int ulysses) {
        ShardBytes s = new ShardBytes(shape, ranks);
        int rings = ranks / ulysses;
        int[] group = Transfer.strided(0, ulysses, 1);
        int[] ring = Transfer.strided(0, rings, ulysses);
        int kvHeads = s.kvHeadsSent(ulysses);
        // after the all-to-all a rank's K/V block (S/R tokens, kvHeads/U heads) has the size of its shard's K/V
        long kv = s.kv(kvHeads);
        RingSteps steps = RingSteps.of(s, shape.seqLen() / rings, shape.heads() / ulysses, kvHeads / ulysses);
        List<Step> forward = new ArrayList<>();
        forward.add(UlyssesSchedule.queriesAndKeys(s, kvHeads, group));
        forward.addAll(steps.forward(rings, Transfer.ringStep(kv, ring)));
        forward.add(UlyssesSchedule.outputHome(s, group));
        List<Step> backward = new ArrayList<>();
        backward.add(Step.blocking(Transfer.allToAll(s.q(), group)));
        backward.addAll(RingSchedule.backward(steps, rings, kv, Transfer.ringStep(s.fp32(kv), ring), ring));
        backward.add(UlyssesSchedule.queriesAndKeys(s, kvHeads, group));
        // the ring runs inside the exchange's buffers; backward's head-sharded dO, dQ, dK, dV are in the shape's dtype
        long heads = UlyssesSchedule.headSharded(s, kvHeads) + UlyssesSchedule.exchangeScratch(s, kvHeads);
        return new CallSchedule(forward, backward, heads + RingSchedule.forwardBuffers(s, rings, kv),
                heads + 2 * s.q() + kv + RingSchedule.backwardBuffers(s, rings, kv), 0, s.tokens());
    }
}
