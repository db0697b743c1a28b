package dev.longbow.plan;

import dev.longbow.parallel.Fpdt;
import dev.longbow.parallel.Hybrid;
import dev.longbow.parallel.Ring;
import dev.longbow.parallel.Scheme;
import dev.longbow.parallel.Ulysses;
import dev.longbow.parallel.WallFacer;
import dev.longbow.parallel.WallFacer.Arrangement;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Enumerates every scheme and setting that spans the whole cluster, predicts each with the
 * {@link CostModel} and ranks them: feasible settings by predicted step time, then the others
 * with the reason they cannot run.
 */
public final class Planner {
    /**
     * FPDT chunk lengths tried, in tokens of the sequence that one chunk spans after the all-to-all
     * (the paper finds 64K a sweet spot on A100): P times a rank's tokens per chunk.
     */
    static final long[] FPDT_CHUNK_TOKENS = {8 << 10, 16 << 10, 32 << 10, 64 << 10, 128 << 10, 256 << 10};

    private Planner() {
    }

    public static List<Estimate> rank(ModelShape model, long seqLen, boolean causal, ClusterSpec cluster) {
        return rank(model, seqLen, causal, cluster, Footprint.LONGBOW);
    }

    public static List<Estimate> rank(ModelShape model, long seqLen, boolean causal, ClusterSpec cluster, Footprint footprint) {
        CostModel costs = new CostModel(model, seqLen, causal, cluster, footprint);
        List<Estimate> all = new ArrayList<>();
        for (boolean offload : new boolean[] {false, true}) {
            for (Scheme s : schemes(cluster, seqLen)) {
                all.add(costs.estimate(s, offload));
            }
        }
        // on a tie, keep activations on the GPU and move fewer bytes
        all.sort(Comparator.comparing((Estimate e) -> !e.feasible()).thenComparingDouble(Estimate::stepSeconds)
                .thenComparing(Estimate::offload).thenComparingDouble(Estimate::bytesSent));
        return all;
    }

    /** Every candidate for {@code cluster}'s P ranks. */
    static List<Scheme> schemes(ClusterSpec cluster, long seqLen) {
        int p = cluster.ranks();
        List<Scheme> schemes = new ArrayList<>();
        schemes.add(new Ulysses());
        schemes.add(new Ring());
        for (int u = 2; u < p; u++) {
            if (p % u == 0) {
                schemes.add(new Hybrid(u));
            }
        }
        for (int c = 2; c * c <= p; c++) {
            if (p % (c * c) == 0) {
                schemes.add(new WallFacer(c, Arrangement.TEAMS_ADJACENT));
                if (cluster.nodes() > 1) {
                    schemes.add(new WallFacer(c, Arrangement.RINGS_ADJACENT));
                }
            }
        }
        for (long chunk : FPDT_CHUNK_TOKENS) {
            if (seqLen % chunk == 0 && seqLen / chunk >= 2 && chunk % p == 0) {
                schemes.add(new Fpdt(chunk / p));
            }
        }
        return schemes;
    }
}
