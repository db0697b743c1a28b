package dev.longbow.samples.cli;

import dev.longbow.plan.ClusterSpec;
import dev.longbow.plan.CostModel;
import dev.longbow.plan.Estimate;
import dev.longbow.plan.Plan;
import dev.longbow.plan.Remedies;
import dev.longbow.plan.Search;
import java.util.List;
import java.util.Locale;

/** What {@code longbow plan} prints after its ranking: the answer and how to run it, or what would fit. */
final class PlanAnswer {
    private PlanAnswer() {
    }

    /**
     * The answer as the train command that runs it ({@code trainRunsIt}: the plan priced
     * {@code longbow train}), or as a run train cannot run; or, when nothing fits, every
     * change that would, with its command.
     */
    static String of(Plan plan, CostModel costs, Search search, boolean trainRunsIt) {
        StringBuilder b = new StringBuilder();
        Estimate best = plan.answer();
        if (best == null) {
            b.append("Nothing fits. What would, each change alone:\n");
            List<Remedies.Remedy> remedies = Remedies.of(costs, search);
            for (Remedies.Remedy r : remedies) {
                b.append("- ").append(r.describe()).append('\n');
                if (r.fit() != null && trainRunsIt) {
                    b.append("  ").append(TrainCommandLine.of(r.fit().run(), costs.model(), r.costs().cluster().backend())).append('\n');
                }
            }
            if (remedies.isEmpty()) {
                b.append("- none of the changes tried (recomputation, offload, sharded model states, up to 16x the nodes, GPUs with "
                        + "more memory, a 64x shorter sequence)\n");
            }
            if (trainRunsIt && remedies.stream().anyMatch(r -> r.fit() != null)) {
                b.append(modelDirNote(costs));
            }
            return b.toString();
        }
        b.append(String.format(Locale.ROOT, "Answer: %s, %s: %.3g s a step, %.3g tokens/s, MFU %.1f%%, %.1f GiB per GPU%s%n",
                best.run().schemeSettings(), best.run().settings(), best.stepSeconds(), best.tokensPerSecond(), 100 * best.mfu(),
                best.memory().gpu() / ClusterSpec.GIB, plan.tied() > 1 ? String.format(Locale.ROOT,
                        " (tied with %d more within %.0f%%: fewest bytes on the slowest link)", plan.tied() - 1, 100 * plan.tieBand()) : ""));
        if (!trainRunsIt) {
            b.append("Not runnable by longbow train: it has no data parallelism and shards its model states its own way "
                    + "(--stack LONGBOW prices that).\n");
            return b.toString();
        }
        b.append("Run it:\n  ").append(TrainCommandLine.of(best.run(), costs.model(), costs.cluster().backend())).append('\n');
        return b.append(modelDirNote(costs)).toString();
    }

    /** What to put for {@link TrainCommandLine#MODEL_DIR}, where the commands need it. */
    private static String modelDirNote(CostModel costs) {
        return TrainCommandLine.needsModelDir(costs.model()) ? "  (" + TrainCommandLine.MODEL_DIR + ": a Hugging Face folder of "
                + costs.model().name() + " with config.json and the weights; longbow train has no preset of it)\n" : "";
    }
}
