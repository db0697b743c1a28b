package dev.longbow.plan;

import java.util.function.DoubleUnaryOperator;

/**
 * FPDT as Longbow's scheme runs it: Ulysses over N chunks per rank. Forward, chunk by chunk:
 * all-to-all its K/V, then its q, attend the fresh diagonal block while the first earlier K/V
 * chunk comes back from the host, then each earlier chunk while the next is fetched; all-to-all
 * the output and log-sum-exp home; q, out, lse and K/V go to the host behind the compute. Backward
 * sends dO to heads and the host, then walks (K/V chunk, query chunk) pairs, K/V chunks in
 * reverse: while a pair computes, the previous pair's fp32 dQ goes back to the host and the next
 * pair's q, out, dO, lse (and dQ so far) and, at a chunk's first pair, the next K/V chunk come in,
 * all on one copy queue in the order issued; dK/dV go home after a chunk's last pair, each dQ after
 * the walk. Block activations are live one chunk at a time.
 *
 * <p>With offload the host buffers are the backend's host memory and their copies ride PCIe;
 * without it the planner prices the same schedule with those buffers in device memory and the
 * copies free (Longbow's Fpdt itself always offloads).
 */
final class FpdtCost {
    private FpdtCost() {
    }

    /** One chunk of a rank's shard after the all-to-all (S/(N P) tokens per rank times P, H/P heads); N chunks in all. */
    private record Chunk(double q, double kv, double lse, double diagonal, double pair) {
    }

    /** FPDT with chunks of {@code chunkLen} tokens per rank: P {@code chunkLen} tokens of the sequence after the all-to-all. */
    static AttentionCost of(Shard shard, Links links, long chunkLen, boolean offload) {
        int p = shard.ranks();
        int[] group = Links.strided(0, p, 1);
        if (shard.seqLen() % (p * chunkLen) != 0) {
            throw new Infeasible("sequence " + shard.seqLen() + " not divisible into chunks of " + p + " x " + chunkLen + " tokens");
        }
        int chunks = Math.toIntExact(shard.seqLen() / (p * chunkLen));
        int kvHeads = UlyssesCost.kvHeadsSent(shard.model(), p);
        double q = shard.qBytes();
        double kv = shard.kvBytes(kvHeads);
        double lse = shard.lseBytes();
        long span = shard.seqLen() / chunks;
        AttentionCall pair = shard.call(span, span, shard.model().heads() / p, kvHeads / p, false);
        AttentionCall diagonal = shard.call(span, span, shard.model().heads() / p, kvHeads / p, true);
        DoubleUnaryOperator copy = offload ? links::hostCopy : bytes -> 0;
        Schedule s = new Schedule(shard, links, group, chunks, copy);
        AttentionCost.Phase forward = s.forward(new Chunk(q / chunks, kv / chunks, lse / chunks, shard.forwardSeconds(diagonal, 1),
                shard.forwardSeconds(pair, 1)));
        AttentionCost.Phase backward = s.backward(new Chunk(q / chunks, kv / chunks, lse / chunks, shard.backwardSeconds(diagonal, 1),
                shard.backwardSeconds(pair, 1)));

        double qc = q / chunks;
        double kvc = kv / chunks;
        double lsec = lse / chunks;
        double scratch = UlyssesCost.exchangeScratch(shard, kvHeads) / chunks;
        // q, out, the fresh K/V and two fetched ones, the fp32 accumulator and partial output with their log-sum-exps
        double forwardDevice = scratch + 2 * qc + 3 * kvc + 2 * (shard.fp32(qc) + lsec);
        // fp32 dK/dV, and two slots of K/V and of q, out, dO, lse, fp32 dQ
        double backwardDevice = scratch + shard.fp32(kvc) + 2 * (kvc + 3 * qc + lsec + shard.fp32(qc));
        // forward's q, k, v, out, lse of every chunk, then backward's dO and fp32 dQ
        double host = 2 * q + kv + lse + q + shard.fp32(q);
        double forwardHost = 2 * q + kv + lse;
        return offload
                ? new AttentionCost(forward, backward, forwardDevice, backwardDevice, host, shard.tokens() / chunks)
                : new AttentionCost(forward, backward, forwardDevice + forwardHost, backwardDevice + host, 0, shard.tokens() / chunks);
    }

    /** The order of FPDT's all-to-alls, kernels and host copies, priced chunk by chunk. */
    private record Schedule(Shard shard, Links links, int[] group, int chunks, DoubleUnaryOperator copy) {

        private AttentionCost.Phase exchange(double bytes) {
            return AttentionCost.Phase.blocking(0, links.allToAll(bytes, group), Links.allToAllBytes(bytes, group.length),
                    links.spansNodes(group));
        }

        private double copy(double bytes) {
            return copy.applyAsDouble(bytes);
        }

        AttentionCost.Phase forward(Chunk c) {
            AttentionCost.Phase keys = exchange(c.kv / 2).times(2);
            double keysAway = copy(c.kv);
            double queriesAway = copy(2 * c.q + c.lse);
            AttentionCost.Phase pass = AttentionCost.Phase.local(0, 0);
            if (!shard.causal()) {
                // every K/V chunk is exchanged and offloaded first, each offload under the next exchange
                pass = keys.times(chunks).then(waitedOut(keys.seconds(), keysAway, chunks - 1));
            }
            for (int i = 0; i < chunks; i++) {
                if (shard.causal()) {
                    // the previous chunk's q, out, lse go to the host while this chunk's K/V are exchanged
                    pass = pass.then(keys).then(waitedOut(keys.seconds(), i > 0 ? queriesAway : 0, 1));
                } else if (i > 0) {
                    pass = pass.then(AttentionCost.Phase.hidingCopies(0, queriesAway));
                }
                pass = pass.then(exchange(c.q));
                int fetches = shard.causal() ? i : chunks;
                // the diagonal block hides this chunk's K/V offload and the first fetch; without a mask the first fetch
                // waits, behind the last K/V offload at the first chunk
                double firstCopies = (shard.causal() || i == 0 ? keysAway : 0) + (fetches > 0 ? copy(c.kv) : 0);
                pass = pass.then(AttentionCost.Phase.hidingCopies(shard.causal() ? c.diagonal : 0, firstCopies));
                if (fetches > 0) {
                    pass = pass.then(AttentionCost.Phase.hidingCopies(c.pair, copy(c.kv)).times(fetches - 1))
                            .then(AttentionCost.Phase.local(c.pair, 0));
                }
                pass = pass.then(exchange(c.q)).then(exchange(c.lse));
            }
            return pass.then(AttentionCost.Phase.hidingCopies(0, queriesAway));
        }

        /** The part of {@code count} copies of {@code copySeconds} each that outlasts an exchange of {@code exchangeSeconds}. */
        private static AttentionCost.Phase waitedOut(double exchangeSeconds, double copySeconds, int count) {
            double waits = count * Math.max(0, copySeconds - exchangeSeconds);
            return AttentionCost.Phase.local(waits, waits);
        }

        AttentionCost.Phase backward(Chunk c) {
            // dO to heads chunk by chunk, each offloaded behind the first K/V fetch while the next is exchanged
            AttentionCost.Phase gradOut = exchange(c.q).times(chunks);
            AttentionCost.Phase pass = gradOut.then(waitedOut(gradOut.seconds(), copy(c.kv + chunks * c.q), 1));

            boolean[] dqStarted = new boolean[chunks];
            double writeBack = copy(shard.fp32(c.q));
            int pairs = 0;
            for (int j = chunks - 1; j >= 0; j--) {
                pairs += chunks - (shard.causal() ? j : 0);
            }
            int[][] order = new int[pairs][];
            int n = 0;
            for (int j = chunks - 1; j >= 0; j--) {
                for (int i = shard.causal() ? j : 0; i < chunks; i++) {
                    order[n++] = new int[] {j, i};
                }
            }
            // the first pair's queries are fetched with nothing to hide behind
            pass = pass.then(AttentionCost.Phase.hidingCopies(0, fetchQueries(c, false)));
            for (int p = 0; p < pairs; p++) {
                int j = order[p][0];
                int i = order[p][1];
                boolean chunkStarts = p == 0 || order[p - 1][0] != j;
                dqStarted[i] = true;
                double queued = (p > 0 ? writeBack : 0) + (chunkStarts && j > 0 ? copy(c.kv) : 0)
                        + (p + 1 < pairs ? fetchQueries(c, dqStarted[order[p + 1][1]]) : 0);
                pass = pass.then(AttentionCost.Phase.hidingCopies(shard.causal() && i == j ? c.diagonal : c.pair, queued));
                if (p + 1 == pairs || order[p + 1][0] != j) {
                    pass = pass.then(exchange(c.kv / 2).times(2));
                }
            }
            // each dQ back from the host and home, the next fetched during the all-to-all
            AttentionCost.Phase dqHome = exchange(c.q);
            pass = pass.then(AttentionCost.Phase.hidingCopies(0, writeBack + copy(shard.fp32(c.q))));
            return pass.then(dqHome.times(chunks)).then(waitedOut(dqHome.seconds(), copy(shard.fp32(c.q)), chunks - 1));
        }

        /** A pair's q, out, dO, lse and, once its query chunk has one, its fp32 dQ so far. */
        private double fetchQueries(Chunk c, boolean withDq) {
            return copy(3 * c.q + c.lse + (withDq ? shard.fp32(c.q) : 0));
        }
    }
}
