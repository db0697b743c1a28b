package dev.longbow.plan;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * When nothing fits: which one change would make some run fit, each found by planning again with
 * that change alone (recomputation, checkpoints in host memory, sharded model states, more nodes,
 * GPUs with more memory, a shorter sequence), so that every remedy named is one the model has checked.
 */
public final class Remedies {
    /** More nodes tried: up to this many times the cluster's. */
    static final int MAX_NODE_FACTOR = 16;
    /** Shorter sequences tried: halving down to this fraction of the asked length. */
    static final int MAX_SHORTENING = 64;

    private Remedies() {
    }

    /**
     * One change and what it gives.
     *
     * @param change  the change, in words
     * @param fit     the answer with the change: the run, and its cluster in {@code costs}; null for
     *                a finding that names no run (what the smallest run needs)
     * @param costs   the cost model the answer was planned with (the changed cluster, where the change is one)
     */
    public record Remedy(String change, Estimate fit, CostModel costs) {
        /** "2 nodes (16 GPUs): ulysses (degree 16), 16 ranks, recompute, 12.3 s a step, 70.1 GiB per GPU". */
        public String describe() {
            return fit == null ? change : change + ": " + String.format(Locale.ROOT, "%s, %s, %.3g s a step, %.1f GiB per GPU",
                    fit.run().schemeSettings(), fit.run().settings(), fit.stepSeconds(), fit.memory().gpu() / ClusterSpec.GIB);
        }
    }

    /** The remedies for a search of which nothing fits; empty when nothing tried fits either. */
    public static List<Remedy> of(CostModel costs, Search search) {
        List<Remedy> remedies = new ArrayList<>();
        ClusterSpec cluster = costs.cluster();
        if (!search.recompute().contains(true)) {
            add(remedies, "recomputation", costs, search.withRecompute(List.of(true)));
        }
        if (!search.offload().contains(true)) {
            add(remedies, "checkpoints in host memory", costs, search.withRecompute(List.of(true)).withOffload(List.of(true)));
        }
        boolean shards = costs.stack() instanceof Zero3Stack || search.shardModelStates().contains(true);
        if (!shards) {
            add(remedies, "sharded model states (--shard-model-states)", costs, search.withShardModelStates(List.of(true)));
        }
        for (int f = 2; f <= MAX_NODE_FACTOR; f *= 2) {
            ClusterSpec more = cluster.withNodes(cluster.nodes() * f);
            Search wider = search.dataParallel().equals(List.of(1)) ? search : search.withDataParallel(Search.divisors(more.ranks()));
            if (add(remedies, String.format(Locale.ROOT, "%d nodes (%d GPUs)", more.nodes(), more.ranks()), on(costs, more), wider)) {
                break;
            }
        }
        for (String name : ClusterSpec.presetNames()) {
            ClusterSpec preset = ClusterSpec.preset(name);
            if (preset.gpuMemory() > cluster.gpuMemory()) {
                ClusterSpec bigger = preset.withGpusPerNode(cluster.gpusPerNode()).withNodes(cluster.nodes());
                add(remedies, String.format(Locale.ROOT, "%s GPUs (%.0f GiB, --cluster %s)", name, preset.gpuMemory() / ClusterSpec.GIB, name),
                        on(costs, bigger), search);
            }
        }
        Optional<Memory> smallest = Planner.estimates(costs, search).stream().map(Estimate::memory).filter(Objects::nonNull)
                .min(Comparator.comparingDouble(Memory::gpu));
        smallest.ifPresent(m -> remedies.add(new Remedy(String.format(Locale.ROOT, "GPUs with at least %.0f GiB of memory: the smallest "
                + "run needs %s", Math.ceil(m.gpu() / ClusterSpec.GIB), m.describe()), null, costs)));
        smallest.filter(m -> m.states() + m.reserved() > cluster.gpuMemory()).ifPresent(m -> remedies.add(new Remedy(String.format(
                Locale.ROOT, "the model states alone (%.1f GiB) exceed a GPU's %.1f GiB under %s: %s", m.states() / ClusterSpec.GIB,
                cluster.gpuMemory() / ClusterSpec.GIB, costs.stack().name(), shards
                        ? "recomputation or a shorter sequence cannot help; more GPUs to shard them over or a smaller model can"
                        : "more GPUs, recomputation or a shorter sequence cannot help; a smaller model or sharded model states "
                                + "(--shard-model-states) can"), null, costs)));
        for (long n = search.seqLen() / 2; n >= Math.max(1, search.seqLen() / MAX_SHORTENING); n /= 2) {
            if (add(remedies, "a sequence of " + n + " tokens", costs, search.withSeqLen(n))) {
                break;
            }
        }
        return remedies;
    }

    /** {@code costs} on {@code cluster}. */
    private static CostModel on(CostModel costs, ClusterSpec cluster) {
        return new CostModel(costs.model(), costs.causal(), cluster, costs.stack());
    }

    /** Adds {@code change} when the plan of {@code search} under {@code costs} has an answer; whether it had. */
    private static boolean add(List<Remedy> remedies, String change, CostModel costs, Search search) {
        Estimate answer = Planner.plan(costs, search).answer();
        if (answer != null) {
            remedies.add(new Remedy(change, answer, costs));
        }
        return answer != null;
    }
}
