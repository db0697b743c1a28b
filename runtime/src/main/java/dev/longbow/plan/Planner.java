package dev.longbow.plan;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Enumerates every scheme and setting that spans the whole cluster, predicts each with the
 * {@link CostModel} and ranks them: feasible settings by predicted step time, then the others
 * with the reason they cannot run.
 */
public final class Planner {
    /** FPDT chunk lengths tried, in tokens of the whole sequence (the paper finds 64K a sweet spot on A100). */
    static final long[] FPDT_CHUNK_TOKENS = {8 << 10, 16 << 10, 32 << 10, 64 << 10, 128 << 10, 256 << 10};

    private Planner() {
    }

    public static List<Estimate> rank(ModelShape model, long seqLen, boolean causal, ClusterSpec cluster) {
        return rank(model, seqLen, causal, cluster, Footprint.LONGBOW);
    }

    public static List<Estimate> rank(ModelShape model, long seqLen, boolean causal, ClusterSpec cluster, Footprint footprint) {
        CostModel costs = new CostModel(model, seqLen, causal, cluster, footprint);
        List<Estimate> all = new ArrayList<>();
        for (Setting s : settings(cluster, seqLen)) {
            all.add(costs.estimate(s));
        }
        // on a tie, keep activations on the GPU and move fewer bytes
        all.sort(Comparator.comparing((Estimate e) -> !e.feasible()).thenComparingDouble(Estimate::stepSeconds)
                .thenComparing(e -> e.setting().offload()).thenComparingDouble(Estimate::bytesSent));
        return all;
    }

    /** Every candidate for {@code cluster}'s P ranks, with and without offloaded checkpoints. */
    static List<Setting> settings(ClusterSpec cluster, long seqLen) {
        int p = cluster.ranks();
        List<Setting> settings = new ArrayList<>();
        for (boolean offload : new boolean[] {false, true}) {
            settings.add(Setting.ulysses(p, offload));
            settings.add(Setting.ring(p, offload));
            for (int u = 2; u < p; u++) {
                if (p % u == 0) {
                    settings.add(Setting.hybrid(u, p / u, offload));
                }
            }
            for (int c = 2; c * c <= p; c++) {
                if (p % (c * c) == 0) {
                    settings.add(Setting.wallFacer(p, c, true, offload));
                    if (cluster.nodes() > 1) {
                        settings.add(Setting.wallFacer(p, c, false, offload));
                    }
                }
            }
            for (long chunk : FPDT_CHUNK_TOKENS) {
                if (seqLen % chunk == 0 && seqLen / chunk >= 2) {
                    settings.add(Setting.fpdt(p, (int) (seqLen / chunk), offload));
                }
            }
        }
        return settings;
    }
}
