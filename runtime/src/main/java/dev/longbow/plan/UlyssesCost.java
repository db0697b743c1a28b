package dev.longbow.plan;

/**
 * DeepSpeed-Ulysses: an all-to-all turns {@code [S/P, H]} into {@code [S, H/P]} for q, k and v,
 * local attention runs over the whole sequence on H/P heads, a second all-to-all brings the
 * output back. Nothing overlaps the all-to-alls. Backward mirrors it (dO in; dQ, dK, dV out).
 */
final class UlyssesCost {
    private UlyssesCost() {
    }

    static AttentionCost of(Shard shard, Links links, int[] group) {
        double qkv = shard.qBytes() + shard.kvBytes(kvHeadsSent(shard.model(), group.length));
        double o = shard.qBytes();
        int u = group.length;
        double exchange = links.allToAll(qkv, group) + links.allToAll(o, group);
        double sent = Links.allToAllBytes(qkv + o, u);
        // forward also brings each rank's fp32 log-sum-exp home with its output
        double lseBack = links.allToAll(shard.lseBytes(), group);
        double lseSent = Links.allToAllBytes(shard.lseBytes(), u);
        double flops = shard.attentionFlops();
        boolean network = links.spansNodes(group);
        AttentionCost.Phase forward = AttentionCost.Phase.blocking(shard.forwardSeconds(flops), exchange + lseBack, sent + lseSent, network);
        AttentionCost.Phase backward = AttentionCost.Phase.blocking(shard.backwardSeconds(flops), exchange, sent, network);
        // the head-sharded q, k, v, o and their send buffers; fp32 dQ, dK, dV accumulators
        double gradients = qkv * Shard.FP32 / shard.bytes();
        double buffers = 2 * (qkv + o) + shard.outputAccumulatorBytes() + gradients;
        return new AttentionCost(forward, backward, buffers, 0, shard.tokens());
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
