package dev.longbow.plan;

/**
 * FPDT: Ulysses over u chunks. Chunk i's q, k, v are exchanged by an all-to-all (1/u of Ulysses'
 * volume each), then attend chunks 0..i; with offload, earlier chunks' K/V live in host memory and
 * the next one is fetched while the current pair computes (double buffering), so a pair costs
 * the slower of its compute and its fetch. Backward walks K/V chunks in reverse, fetching q, dO
 * and the fp32 dQ. Block activations are live one chunk at a time.
 */
final class FpdtCost {
    private FpdtCost() {
    }

    static AttentionCost of(Shard shard, Links links, int chunks, boolean offload) {
        int p = shard.ranks();
        int[] group = Links.strided(0, p, 1);
        if (shard.seqLen() % ((long) p * chunks) != 0) {
            throw new Infeasible("sequence " + shard.seqLen() + " not divisible into " + chunks + " chunks of " + p + " ranks");
        }
        int kvHeads = UlyssesCost.kvHeadsSent(shard.model(), p);
        double grad = Shard.FP32 / (double) shard.bytes();
        double q = shard.qBytes();
        double qkv = q + shard.kvBytes(kvHeads);
        // one chunk's share on this rank after the all-to-all: S/u tokens on H/P heads
        double qChunk = q / chunks;
        double kvChunk = shard.kvBytes(kvHeads) / chunks;
        double lseChunk = shard.lseBytes() / chunks;

        double exchange = chunks * (links.allToAll(qkv / chunks, group) + links.allToAll(q / chunks, group));
        double sent = Links.allToAllBytes(qkv + q, p);
        double pairFlops = 4.0 * Math.pow((double) shard.seqLen() / chunks, 2) * shard.model().heads() / p * shard.model().headDim();
        double diagonals = chunks * (shard.causal() ? 0.5 : 1.0);
        double pairs = shard.causal() ? chunks * (chunks - 1) / 2.0 : chunks * (chunks - 1.0);

        boolean network = links.spansNodes(group);
        // forward also brings each chunk's fp32 log-sum-exp home with its output
        double lseBack = chunks * links.allToAll(lseChunk, group);
        double lseSent = Links.allToAllBytes(shard.lseBytes(), p);
        AttentionCost.Phase forward = AttentionCost.Phase.blocking(diagonals * shard.forwardSeconds(pairFlops), exchange + lseBack,
                        sent + lseSent, network)
                .then(pairs(pairs, shard.forwardSeconds(pairFlops), offload ? links.hostCopy(kvChunk) : 0));
        double fetchBackward = links.hostCopy(2 * qChunk + 2 * qChunk * grad + 2 * lseChunk);  // q, dO in; dQ in and out
        AttentionCost.Phase backward = AttentionCost.Phase.blocking(diagonals * shard.backwardSeconds(pairFlops), exchange, sent, network)
                .then(pairs(pairs, shard.backwardSeconds(pairFlops), offload ? fetchBackward : 0));

        double whole = 2 * q + shard.kvBytes(kvHeads) + shard.outputAccumulatorBytes();   // q, k, v, o, lse of every chunk
        double chunkBuffers = (2 * qChunk + kvChunk) * 2 + 2 * kvChunk * (1 + grad) + 2 * qChunk * (2 + grad);
        double device = offload ? chunkBuffers : whole + qkv * grad + chunkBuffers;
        double host = offload ? whole + q * grad : 0;
        return new AttentionCost(forward, backward, device, host, shard.tokens() / chunks);
    }

    /** Off-diagonal chunk pairs, each overlapping its compute with the next chunk's fetch from host. */
    private static AttentionCost.Phase pairs(double count, double computeSeconds, double fetchSeconds) {
        double waits = count * Math.max(0, fetchSeconds - computeSeconds);
        return AttentionCost.Phase.local(count * computeSeconds + waits, waits);
    }
}
