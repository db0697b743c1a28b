package dev.longbow.plan;

/**
 * DeepSpeed-Ulysses: all-to-alls turn {@code [S/P, H]} into {@code [S, H/P]} for q, k and v, one
 * each, local attention runs over the whole sequence on H/P heads, and two more bring the output
 * and its log-sum-exp back. Nothing overlaps the all-to-alls. Backward mirrors it: dO in; dQ, dK,
 * dV out, in the activation dtype.
 */
final class UlyssesCost {
    private UlyssesCost() {
    }

    static AttentionCost of(Shard shard, Links links, int[] group) {
        int u = group.length;
        int kvHeads = kvHeadsSent(shard.model(), u);
        double q = shard.qBytes();
        double kv = shard.kvBytes(kvHeads);
        double lse = shard.lseBytes();
        AttentionCall local = shard.call(shard.seqLen(), shard.seqLen(), shard.model().heads() / u, kvHeads / u, true);
        boolean network = links.spansNodes(group);
        AttentionCost.Phase forward = AttentionCost.Phase.blocking(shard.forwardSeconds(local, 1), forwardExchange(links, group, q, kv, lse),
                forwardExchangeBytes(q, kv, lse, u), network);
        AttentionCost.Phase backward = AttentionCost.Phase.blocking(shard.backwardSeconds(local, 1), backwardExchange(links, group, q, kv),
                backwardExchangeBytes(q, kv, u), network);
        double heads = headSharded(shard, kvHeads) + exchangeScratch(shard, kvHeads);
        // backward adds the head-sharded dO and the fp32 dQ, dK, dV to what forward saved
        double gradients = q + shard.fp32(q + kv);
        return new AttentionCost(forward, backward, heads, heads + gradients, 0, shard.tokens());
    }

    /** Seconds of forward's all-to-alls of a rank's {@code q}, {@code kv} (K and V) and {@code lse} bytes. */
    static double forwardExchange(Links links, int[] group, double q, double kv, double lse) {
        return 2 * links.allToAll(q, group) + 2 * links.allToAll(kv / 2, group) + links.allToAll(lse, group);
    }

    static double forwardExchangeBytes(double q, double kv, double lse, int degree) {
        return Links.allToAllBytes(2 * q + kv + lse, degree);
    }

    /** Seconds of backward's all-to-alls: dO to heads, dQ, dK, dV home. */
    static double backwardExchange(Links links, int[] group, double q, double kv) {
        return 2 * links.allToAll(q, group) + 2 * links.allToAll(kv / 2, group);
    }

    static double backwardExchangeBytes(double q, double kv, int degree) {
        return Links.allToAllBytes(2 * q + kv, degree);
    }

    /** The head-sharded q, k, v, out and log-sum-exp that forward fills and backward reads. */
    static double headSharded(Shard shard, int kvHeads) {
        return 2 * shard.qBytes() + shard.kvBytes(kvHeads) + shard.lseBytes();
    }

    /**
     * The exchange's packing buffers for a shard: one q-sized, one of K or V, one log-sum-exp, and
     * the replicated K or V when there are fewer KV heads than ranks.
     */
    static double exchangeScratch(Shard shard, int kvHeads) {
        double kvOne = shard.kvBytes(kvHeads) / 2;
        return shard.qBytes() + kvOne + shard.lseBytes() + (kvHeads > shard.model().kvHeads() ? kvOne : 0);
    }

    /**
     * KV heads each rank sends in total: all of them when the degree divides them, else one per
     * rank (replicated) when they divide the degree.
     */
    static int kvHeadsSent(ModelShape model, int degree) {
        if (model.heads() % degree != 0) {
            throw new Infeasible("heads " + model.heads() + " not divisible by Ulysses degree " + degree);
        }
        if (model.kvHeads() % degree == 0) {
            return model.kvHeads();
        }
        if (degree % model.kvHeads() == 0) {
            return degree;
        }
        throw new Infeasible("kv heads " + model.kvHeads() + " and Ulysses degree " + degree + " do not divide each other");
    }
}
