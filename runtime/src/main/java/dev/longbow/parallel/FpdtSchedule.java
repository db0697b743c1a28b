package dev.longbow.parallel;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * {@link Fpdt}'s call as data: Ulysses over N chunks per rank, the chunks' q, k, v, out and lse in
 * host memory. Forward, chunk by chunk: all-to-all its K/V, then its q; attend the fresh diagonal
 * block while the first earlier K/V chunk comes back from the host, then each earlier chunk while
 * the next is fetched; all-to-all the output and log-sum-exp home; q, out, lse and K/V go to the
 * host behind the compute. Backward sends dO to heads and the host, then walks (K/V chunk, query
 * chunk) pairs, K/V chunks in reverse: while a pair computes, the previous pair's fp32 dQ goes back
 * to the host and the next pair's q, out, dO, lse (and dQ so far) and, at a chunk's first pair, the
 * next K/V chunk come in, all on one copy queue in the order issued; dK/dV go home after a chunk's
 * last pair, each dQ after the walk.
 */
final class FpdtSchedule {
    private FpdtSchedule() {
    }

    /**
     * One chunk's bytes after the all-to-all (S/(N P) tokens per rank times P, H/P heads), and its
     * two kernel calls.
     */
    private record Chunk(long q, long kv, long lse, AttentionCall diagonal, AttentionCall pair) {
    }

    static CallSchedule of(AttentionShape shape, int ranks, long chunkLen) {
        ShardBytes s = new ShardBytes(shape, ranks);
        int chunks = Math.toIntExact(s.tokens() / chunkLen);
        int kvHeads = s.kvHeadsSent(ranks);
        long span = ranks * chunkLen;
        Chunk c = new Chunk(s.q() / chunks, s.kv(kvHeads) / chunks, s.lse() / chunks,
                s.call(span, span, shape.heads() / ranks, kvHeads / ranks, true),
                s.call(span, span, shape.heads() / ranks, kvHeads / ranks, false));
        Walk walk = new Walk(s, Transfer.strided(0, ranks, 1), chunks, c);
        long scratch = UlyssesSchedule.exchangeScratch(s, kvHeads) / chunks;
        // q, out, the fresh K/V and two fetched ones, the fp32 accumulator and partial output with their log-sum-exps
        long forwardDevice = scratch + 2 * c.q + 3 * c.kv + 2 * (s.fp32(c.q) + c.lse);
        // fp32 dK/dV, and two slots of K/V and of q, out, dO, lse, fp32 dQ
        long backwardDevice = scratch + s.fp32(c.kv) + 2 * (c.kv + 3 * c.q + c.lse + s.fp32(c.q));
        // forward's q, k, v, out, lse of every chunk, then backward's dO and fp32 dQ
        long host = 2 * s.q() + s.kv(kvHeads) + s.lse() + s.q() + s.fp32(s.q());
        return new CallSchedule(walk.forward(), walk.backward(), forwardDevice, backwardDevice, host, s.tokens() / chunks);
    }

    /** The order of the all-to-alls, kernels and host copies, chunk by chunk. */
    private record Walk(ShardBytes s, int[] group, int chunks, Chunk c) {

        private Transfer exchange(long bytes) {
            return Transfer.allToAll(bytes, group);
        }

        private boolean causal() {
            return s.shape().causal();
        }

        List<Step> forward() {
            Transfer key = exchange(c.kv / 2);
            Transfer keysAway = Transfer.hostCopy(c.kv);
            Transfer queriesAway = Transfer.hostCopy(2 * c.q + c.lse);
            List<Step> pass = new ArrayList<>();
            if (!causal()) {
                // every K/V chunk is exchanged and offloaded first, each offload under the next exchange
                pass.add(Step.blocking(key, key));
                if (chunks > 1) {
                    pass.add(Step.blocking(key, key, keysAway).times(chunks - 1));
                }
            }
            for (int i = 0; i < chunks; i++) {
                if (causal()) {
                    // the previous chunk's q, out, lse go to the host while this chunk's K/V are exchanged
                    pass.add(i > 0 ? Step.blocking(key, key, queriesAway) : Step.blocking(key, key));
                } else if (i > 0) {
                    pass.add(Step.blocking(queriesAway));
                }
                pass.add(Step.blocking(exchange(c.q)));
                int fetches = causal() ? i : chunks;
                // the diagonal block hides this chunk's K/V offload and the first fetch; without a mask the first fetch
                // waits, behind the last K/V offload at the first chunk
                List<Transfer> first = new ArrayList<>();
                if (causal() || i == 0) {
                    first.add(keysAway);
                }
                if (fetches > 0) {
                    first.add(Transfer.hostCopy(c.kv));
                }
                pass.add(new Step(causal() ? List.of(c.diagonal) : List.of(), first, 1));
                if (fetches > 1) {
                    pass.add(Step.overlapped(List.of(c.pair), Transfer.hostCopy(c.kv)).times(fetches - 1));
                }
                if (fetches > 0) {
                    pass.add(Step.compute(List.of(c.pair)));
                }
                pass.add(Step.blocking(exchange(c.q), exchange(c.lse)));
            }
            pass.add(Step.blocking(queriesAway));
            return pass;
        }

        List<Step> backward() {
            List<Step> pass = new ArrayList<>();
            // dO to heads chunk by chunk, each offloaded behind the first K/V fetch while the next is exchanged
            List<Transfer> gradOut = new ArrayList<>(Collections.nCopies(chunks, exchange(c.q)));
            gradOut.add(Transfer.hostCopy(c.kv + chunks * c.q));
            pass.add(new Step(List.of(), gradOut, 1));

            Transfer writeBack = Transfer.hostCopy(s.fp32(c.q));
            List<int[]> order = new ArrayList<>();
            for (int j = chunks - 1; j >= 0; j--) {
                for (int i = causal() ? j : 0; i < chunks; i++) {
                    order.add(new int[] {j, i});
                }
            }
            boolean[] dqStarted = new boolean[chunks];
            // the first pair's queries are fetched with nothing to hide behind
            pass.add(Step.blocking(fetchQueries(false)));
            for (int p = 0; p < order.size(); p++) {
                int j = order.get(p)[0];
                int i = order.get(p)[1];
                boolean chunkStarts = p == 0 || order.get(p - 1)[0] != j;
                boolean chunkEnds = p + 1 == order.size() || order.get(p + 1)[0] != j;
                dqStarted[i] = true;
                List<Transfer> queued = new ArrayList<>();
                if (p > 0) {
                    queued.add(writeBack);
                }
                if (chunkStarts && j > 0) {
                    queued.add(Transfer.hostCopy(c.kv));
                }
                if (p + 1 < order.size()) {
                    queued.add(fetchQueries(dqStarted[order.get(p + 1)[1]]));
                }
                pass.add(new Step(List.of(causal() && i == j ? c.diagonal : c.pair), queued, 1));
                if (chunkEnds) {
                    pass.add(Step.blocking(exchange(c.kv / 2), exchange(c.kv / 2)));
                }
            }
            // each dQ back from the host and home, the next fetched during the all-to-all
            pass.add(Step.blocking(writeBack, Transfer.hostCopy(s.fp32(c.q))));
            pass.add(Step.blocking(exchange(c.q)));
            if (chunks > 1) {
                pass.add(Step.blocking(exchange(c.q), Transfer.hostCopy(s.fp32(c.q))).times(chunks - 1));
            }
            return pass;
        }

        /** A pair's q, out, dO, lse and, once its query chunk has one, its fp32 dQ so far. */
        private Transfer fetchQueries(boolean withDq) {
            return Transfer.hostCopy(3 * c.q + c.lse + (withDq ? s.fp32(c.q) : 0));
        }
    }
}
