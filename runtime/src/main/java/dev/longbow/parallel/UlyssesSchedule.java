package dev.longbow.parallel;

import java.util.List;

/**
 * {@link Ulysses}' call as data: all-to-alls turn {@code [S/P, H]} into {@code [S, H/P]} for q, k
 * and v, local attention runs over the whole sequence on H/P heads, and two more bring the output
 * and its log-sum-exp back. Nothing overlaps the all-to-alls. Backward mirrors it: dO in; dQ, dK,
 * dV out, in the shape's dtype.
 */
final class UlyssesSchedule {
    private UlyssesSchedule() {
    }

    static CallSchedule of(AttentionShape shape, int ranks) {
        ShardBytes s = new ShardBytes(shape, ranks);
        int[] everyone = Transfer.strided(0, ranks, 1);
        int kvHeads = s.kvHeadsSent(ranks);
        AttentionCall local = s.call(shape.seqLen(), shape.seqLen(), shape.heads() / ranks, kvHeads / ranks, true);
        List<Step> forward = List.of(queriesAndKeys(s, kvHeads, everyone), Step.compute(List.of(local)), outputHome(s, everyone));
        List<Step> backward = List.of(Step.blocking(Transfer.allToAll(s.q(), everyone)), Step.compute(List.of(local)),
                queriesAndKeys(s, kvHeads, everyone));
        long heads = headSharded(s, kvHeads) + exchangeScratch(s, kvHeads);
        // backward adds the head-sharded dO and the fp32 dQ, dK, dV to what forward saved
        long gradients = s.q() + s.fp32(s.q() + s.kv(kvHeads));
        return new CallSchedule(forward, backward, heads, heads + gradients, 0, s.tokens());
    }

    /**
     * q, k and v to heads (forward), or dQ, dK and dV home (backward, in the shape's dtype): one
     * all-to-all each of the rank's shard, K and V with {@code kvHeads} heads.
     */
    static Step queriesAndKeys(ShardBytes s, int kvHeads, int[] group) {
        long k = s.kv(kvHeads) / 2;
        return Step.blocking(Transfer.allToAll(s.q(), group), Transfer.allToAll(k, group), Transfer.allToAll(k, group));
    }

    /** The output and its fp32 log-sum-exp back to the sequence shard. */
    static Step outputHome(ShardBytes s, int[] group) {
        return Step.blocking(Transfer.allToAll(s.q(), group), Transfer.allToAll(s.lse(), group));
    }

    /** The head-sharded q, k, v, out and log-sum-exp that forward fills and backward reads. */
    static long headSharded(ShardBytes s, int kvHeads) {
        return 2 * s.q() + s.kv(kvHeads) + s.lse();
    }

    /**
     * The exchange's packing buffers for a shard: one q-sized, one of K or V, one log-sum-exp, and
     * the replicated K or V when there are fewer KV heads than ranks.
     */
    static long exchangeScratch(ShardBytes s, int kvHeads) {
        long kvOne = s.kv(kvHeads) / 2;
        return s.q() + kvOne + s.lse() + (kvHeads > s.shape().kvHeads() ? kvOne : 0);
    }
}
