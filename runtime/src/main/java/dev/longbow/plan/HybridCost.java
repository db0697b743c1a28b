package dev.longbow.plan;

/**
 * Ulysses inside groups of {@code u} adjacent ranks, Ring across the {@code r} groups (USP): the
 * all-to-all gives each rank S/r tokens on H/u heads, whose K/V then travel a ring of ranks of
 * equal position in their groups. Lifts Ulysses' head limit to {@code H % u == 0}.
 */
final class HybridCost {
    private HybridCost() {
    }

    static AttentionCost of(Shard shard, Links links, int ulysses, int ring) {
        int[] group = Links.strided(0, ulysses, 1);
        int[] ringGroup = Links.strided(0, ring, ulysses);
        RingCost.requireZigzag(shard.seqLen(), ring);
        int kvHeads = UlyssesCost.kvHeadsSent(shard.model(), ulysses);
        double qkv = shard.qBytes() + shard.kvBytes(kvHeads);
        double o = shard.qBytes();
        // after the all-to-all a rank's K/V block (S/r tokens, kvHeads/u heads) has the size of its shard's K/V
        double kv = shard.kvBytes(kvHeads);
        double kvGrad = kv * Shard.FP32 / shard.bytes();
        double flops = shard.attentionFlops() / ring;
        double exchange = links.allToAll(qkv, group) + links.allToAll(o, group);
        double exchanged = Links.allToAllBytes(qkv + o, ulysses);
        double lseBack = links.allToAll(shard.lseBytes(), group);
        boolean exchangeOnNetwork = links.spansNodes(group);
        AttentionCost.Phase forward = AttentionCost.Phase.blocking(0, exchange + lseBack,
                        exchanged + Links.allToAllBytes(shard.lseBytes(), ulysses), exchangeOnNetwork)
                .then(AttentionCost.Phase.ring(ring, shard.forwardSeconds(flops), links.ringStep(kv, ringGroup), kv, links.spansNodes(ringGroup)));
        AttentionCost.Phase backward = AttentionCost.Phase.blocking(0, exchange, exchanged, exchangeOnNetwork)
                .then(RingCost.backward(ring, shard.backwardSeconds(flops), kv, kvGrad, links, ringGroup));
        double buffers = 2 * (qkv + o) + 2 * (kv + kvGrad) + shard.outputAccumulatorBytes() + qkv * Shard.FP32 / shard.bytes();
        return new AttentionCost(forward, backward, buffers, 0, shard.tokens());
    }
}
