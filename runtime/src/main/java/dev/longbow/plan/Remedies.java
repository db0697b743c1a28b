package dev.longbow.plan;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * When nothing fits: which one change would make some run fit, each found by planning again with
 * that change alone (recomputation, checkpoints in host memory, more nodes, GPUs with more
 * memory, a shorter sequence), so that every remedy named is one the model has checked.
 */
public final class Remedies {
    /** More nodes tried: up to this many times the cluster's. */
    static final int MAX_NODE_FACTOR = 16;
    /** Shorter sequences tried: halving down to this fraction of the asked length. */
    static final int MAX_SHORTENING = 64;

    private Remedies() {
    }

    /** The remedies for a search of which nothing fits, one line each; empty when nothing tried fits either. */
    public static List<String> of(CostModel costs, Search search) {
        List<String> remedies = new ArrayList<>();
        ClusterSpec cluster = costs.cluster();
        if (!search.recompute().contains(true)) {
            answer(costs, search.withRecompute(List.of(true))).ifPresent(e -> remedies.add("recomputation: " + brief(e)));
        }
        if (!search.offload().contains(true)) {
            Search offloaded = search.withRecompute(List.of(true)).withOffload(List.of(true));
            Plan plan = Planner.plan(costs, offloaded);
            if (plan.answer() != null) {
                remedies.add("checkpoints in host memory: " + brief(plan.answer()));
            }
        }
        for (int f = 2; f <= MAX_NODE_FACTOR; f *= 2) {
            ClusterSpec more = cluster.withNodes(cluster.nodes() * f);
            Search wider = search.dataParallel().equals(List.of(1)) ? search : search.withDataParallel(Search.divisors(more.ranks()));
            Optional<Estimate> fit = answer(new CostModel(costs.model(), costs.causal(), more, costs.stack()), wider);
            if (fit.isPresent()) {
                remedies.add(String.format(Locale.ROOT, "%d nodes (%d GPUs): %s", more.nodes(), more.ranks(), brief(fit.get())));
                break;
            }
        }
        Optional<Memory> smallest = Planner.estimates(costs, search).stream().map(Estimate::memory).filter(Objects::nonNull)
                .min(Comparator.comparingDouble(Memory::gpu));
        smallest.ifPresent(m -> remedies.add(String.format(Locale.ROOT, "GPUs with at least %.0f GiB of memory: the smallest run needs %s",
                Math.ceil(m.gpu() / ClusterSpec.GIB), m.describe())));
        smallest.filter(m -> m.states() + m.reserved() > cluster.gpuMemory()).ifPresent(m -> remedies.add(String.format(Locale.ROOT,
                "the model states alone (%.1f GiB) exceed a GPU's %.1f GiB under %s: more GPUs, recomputation or a shorter sequence "
                        + "cannot help; a smaller model or sharded model states can (--stack zero3 prices DeepSpeed ZeRO-3, which longbow "
                        + "train does not run yet)", m.states() / ClusterSpec.GIB,
                cluster.gpuMemory() / ClusterSpec.GIB, costs.stack().name())));
        for (long n = search.seqLen() / 2; n >= Math.max(1, search.seqLen() / MAX_SHORTENING); n /= 2) {
            Optional<Estimate> fit = answer(costs, search.withSeqLen(n));
            if (fit.isPresent()) {
                remedies.add(String.format(Locale.ROOT, "a sequence of %d tokens: %s", n, brief(fit.get())));
                break;
            }
        }
        return remedies;
    }

    private static Optional<Estimate> answer(CostModel costs, Search search) {
        return Optional.ofNullable(Planner.plan(costs, search).answer());
    }

    private static String brief(Estimate e) {
        return String.format(Locale.ROOT, "%s, %s, %.3g s a step, %.1f GiB per GPU", e.run().schemeSettings(), e.run().settings(),
                e.stepSeconds(), e.memory().gpu() / ClusterSpec.GIB);
    }
}
