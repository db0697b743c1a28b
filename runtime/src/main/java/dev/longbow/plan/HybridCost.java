package dev.longbow.plan;

/**
 * Ulysses inside groups of {@code u} adjacent ranks, Ring across the {@code r} groups (USP): the
 * all-to-all gives each rank S/r tokens on H/u heads, whose K/V then travel a ring of ranks of
 * equal position in their groups. Lifts Ulysses' head limit to {@code H % u == 0}.
 */
final class HybridCost {
    private HybridCost() {
    }

    static AttentionCost of(Shard shard, Links links, int ulysses) {
        if (shard.ranks() % ulysses != 0) {
            throw new Infeasible("Ulysses degree " + ulysses + " does not divide the " + shard.ranks() + " ranks");
        }
        int ring = shard.ranks() / ulysses;
        int[] group = Links.strided(0, ulysses, 1);
        int[] ringGroup = Links.strided(0, ring, ulysses);
        RingCost.requireZigzag(shard.seqLen(), ring);
        int kvHeads = UlyssesCost.kvHeadsSent(shard.model(), ulysses);
        double q = shard.qBytes();
        // after the all-to-all a rank's K/V block (S/r tokens, kvHeads/u heads) has the size of its shard's K/V
        double kv = shard.kvBytes(kvHeads);
        RingCost.Steps steps = RingCost.Steps.of(shard, shard.seqLen() / ring, shard.model().heads() / ulysses, kvHeads / ulysses);
        boolean exchangeOnNetwork = links.spansNodes(group);
        AttentionCost.Phase forward = AttentionCost.Phase.blocking(0, UlyssesCost.forwardExchange(links, group, q, kv, shard.lseBytes()),
                        UlyssesCost.forwardExchangeBytes(q, kv, shard.lseBytes(), ulysses), exchangeOnNetwork)
                .then(AttentionCost.Phase.ring(ring, steps.firstForward(), steps.forward(), links.ringStep(kv, ringGroup), kv, links.spansNodes(ringGroup)));
        AttentionCost.Phase backward = AttentionCost.Phase.blocking(0, UlyssesCost.backwardExchange(links, group, q, kv),
                        UlyssesCost.backwardExchangeBytes(q, kv, ulysses), exchangeOnNetwork)
                .then(RingCost.backward(shard, ring, steps, kv, links, ringGroup));
        // the ring runs inside the exchange's buffers; backward's head-sharded dO, dQ, dK, dV are in the activation dtype
        double heads = UlyssesCost.headSharded(shard, kvHeads) + UlyssesCost.exchangeScratch(shard, kvHeads);
        double forwardBuffers = heads + RingCost.forwardBuffers(shard, ring, kv);
        double backwardBuffers = heads + 2 * q + kv + RingCost.backwardBuffers(shard, ring, kv);
        return new AttentionCost(forward, backward, forwardBuffers, backwardBuffers, 0, shard.tokens());
    }
}
