package dev.longbow.plan;

import dev.longbow.parallel.Fpdt;
import dev.longbow.parallel.Hybrid;
import dev.longbow.parallel.Ring;
import dev.longbow.parallel.Scheme;
import dev.longbow.parallel.Ulysses;
import dev.longbow.parallel.WallFacer;
import dev.longbow.parallel.WallFacer.Arrangement;
import java.util.ArrayList;
import java.util.List;

/**
 * Enumerates every run a search allows on a cluster (data-parallel layouts, schemes and their
 * settings, recomputation, offload, sharded model states), predicts each with the {@link CostModel} and ranks them
 * ({@link Plan}).
 */
public final class Planner {
    /**
     * FPDT chunk lengths tried, in tokens of the sequence that one chunk spans after the all-to-all
     * (the paper finds 64K a sweet spot on A100): P times a rank's tokens per chunk.
     */
    static final long[] FPDT_CHUNK_TOKENS = {8 << 10, 16 << 10, 32 << 10, 64 << 10, 128 << 10, 256 << 10};

    private Planner() {
    }

    public static Plan plan(CostModel costs, Search search) {
        return Plan.rank(estimates(costs, search), Plan.TIE_BAND);
    }

    /** Every run of the search, predicted, in enumeration order. */
    static List<Estimate> estimates(CostModel costs, Search search) {
        ClusterSpec cluster = costs.cluster();
        List<Estimate> all = new ArrayList<>();
        for (int dp : search.dataParallel()) {
            int sp = cluster.ranks() / dp;
            if (cluster.ranks() % dp != 0 || !placeable(sp, cluster.gpusPerNode())) {
                continue;
            }
            for (Scheme scheme : schemes(sp, search.seqLen(), cluster.nodes() > 1)) {
                for (boolean recompute : search.recompute()) {
                    for (boolean offload : search.offload()) {
                        if (offload && !recompute) {
                            continue;   // only checkpoints (the inputs recomputation starts from) are offloaded
                        }
                        int batch = search.batchFor(dp);
                        if (batch % dp != 0) {
                            continue;
                        }
                        for (boolean shard : search.shardModelStates()) {
                            if (shard && costs.stack() instanceof Zero3Stack) {
                                continue;   // ZeRO-3 shards whatever the setting, which is longbow train's
                            }
                            all.add(costs.estimate(new Run(scheme, sp, dp, search.seqLen(), batch, recompute, search.precision(), offload,
                                    shard)));
                        }
                    }
                }
            }
        }
        return all;
    }

    /** Groups of {@code sp} consecutive GPUs fill nodes evenly: each node holds whole groups, or each group whole nodes. */
    private static boolean placeable(int sp, int gpusPerNode) {
        return gpusPerNode % sp == 0 || sp % gpusPerNode == 0;
    }

    /** Every scheme and setting for a group of {@code sp} ranks. */
    static List<Scheme> schemes(int sp, long seqLen, boolean severalNodes) {
        List<Scheme> schemes = new ArrayList<>();
        schemes.add(new Ulysses());
        if (sp == 1) {
            // one rank: every scheme is plain attention but FPDT, which still chunks and offloads
            addFpdt(schemes, sp, seqLen);
            return schemes;
        }
        schemes.add(new Ring());
        for (int u = 2; u < sp; u++) {
            if (sp % u == 0) {
                schemes.add(new Hybrid(u));
            }
        }
        for (int c = 2; c * c <= sp; c++) {
            if (sp % (c * c) == 0) {
                schemes.add(new WallFacer(c, Arrangement.TEAMS_ADJACENT));
                if (severalNodes) {
                    schemes.add(new WallFacer(c, Arrangement.RINGS_ADJACENT));
                }
            }
        }
        addFpdt(schemes, sp, seqLen);
        return schemes;
    }

    private static void addFpdt(List<Scheme> schemes, int sp, long seqLen) {
        for (long chunk : FPDT_CHUNK_TOKENS) {
            if (seqLen % chunk == 0 && seqLen / chunk >= 2 && chunk % sp == 0) {
                schemes.add(new Fpdt(chunk / sp));
            }
        }
    }
}
