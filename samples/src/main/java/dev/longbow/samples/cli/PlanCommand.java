package dev.longbow.samples.cli;

import dev.longbow.backend.Backends;
import dev.longbow.checkpoint.IoFailures;
import dev.longbow.model.Precision;
import dev.longbow.plan.AttentionRates;
import dev.longbow.plan.ClusterSpec;
import dev.longbow.plan.CostModel;
import dev.longbow.plan.Estimate;
import dev.longbow.plan.LongbowStack;
import dev.longbow.plan.ModelShape;
import dev.longbow.plan.Plan;
import dev.longbow.plan.PlanReport;
import dev.longbow.plan.Planner;
import dev.longbow.plan.Remedies;
import dev.longbow.plan.Search;
import dev.longbow.plan.Zero3Stack;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code longbow plan}: which scheme and settings to train a model on a sequence length with, on a
 * described cluster, ranked by the cost model's predicted step time. Runs within the model's error
 * of the fastest are a tie, broken by fewer bytes on the slowest link; the answer is printed as the
 * {@code longbow train} command that runs it, and when nothing fits the plan says what would.
 */
@Command(name = "plan", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Rank every sequence-parallel scheme and setting for a model, a sequence length and a cluster; print the "
                + "longbow train command of the answer, or what would fit when nothing does. Exit code 3: nothing fits.")
public final class PlanCommand implements Callable<Integer> {

    /** The training software whose memory and traffic a plan prices. */
    enum StackChoice {
        /** {@code longbow train}: whole model states on every GPU, one sequence-parallel group; the answer is a train command. */
        LONGBOW,
        /** DeepSpeed ZeRO-3, as the papers ran: sharded states and data-parallel layouts; not runnable by longbow train. */
        ZERO3
    }

    /** Which recomputation settings a plan tries. */
    /** Which settings of a switch the plan tries. */
    enum Tried { BOTH, ON, OFF }

    @Option(names = "--model", defaultValue = "llama3-8b", description = "preset (${COMPLETION-CANDIDATES}) or 'custom' with the "
            + "dimensions below (default: ${DEFAULT-VALUE})", completionCandidates = ModelPresets.class)
    String model;
    @Option(names = "--layers", description = "custom model: transformer blocks") Integer layers;
    @Option(names = "--hidden", description = "custom model: hidden size (heads x head dim)") Integer hidden;
    @Option(names = "--heads", description = "custom model: query heads") Integer heads;
    @Option(names = "--kv-heads", description = "custom model: key/value heads (default: --heads)") Integer kvHeads;
    @Option(names = "--ffn", description = "custom model: MLP hidden size") Integer ffn;
    @Option(names = "--vocab", description = "custom model: vocabulary size") Integer vocab;
    @Option(names = "--mlp-matrices", description = "custom model: 2 (GPT MLP) or 3 (SwiGLU, what longbow train builds; default)")
    Integer mlpMatrices;

    @Option(names = "--seq-len", description = "tokens per sequence: 131072, 128K, 2M (required)", converter = Tokens.class)
    long seqLen;
    @Option(names = "--batch", defaultValue = "1", description = "sequences per optimizer step, one after another on each "
            + "sequence-parallel group (default: ${DEFAULT-VALUE})")
    int batch;
    @Option(names = "--causal", defaultValue = "true", arity = "1", description = "causal attention (default: ${DEFAULT-VALUE})")
    boolean causal;
    @Option(names = "--recompute", defaultValue = "BOTH", description = "recomputation settings tried: ${COMPLETION-CANDIDATES} "
            + "(default: ${DEFAULT-VALUE})")
    Tried recompute;
    @Option(names = "--shard-model-states", defaultValue = "BOTH", description = "model-state settings tried: "
            + "${COMPLETION-CANDIDATES}; ON shards them over the ranks (train --shard-model-states), OFF keeps them whole on every "
            + "GPU (default: ${DEFAULT-VALUE})")
    Tried shardModelStates;
    @Option(names = "--stack", defaultValue = "LONGBOW", description = "whose memory and traffic to price: LONGBOW (longbow train: "
            + "model states whole on every GPU or sharded, no data parallelism) or ZERO3 (DeepSpeed ZeRO-3 with data-parallel x "
            + "sequence-parallel layouts, as the papers ran; not runnable by longbow train) (default: ${DEFAULT-VALUE})")
    StackChoice stack;

    @Option(names = "--cluster", defaultValue = "h100", description = "preset: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})",
            completionCandidates = ClusterPresets.class)
    String cluster;
    @Option(names = "--nodes", defaultValue = "1", description = "nodes (default: ${DEFAULT-VALUE})") int nodes;
    @Option(names = "--gpus-per-node", description = "GPUs per node (default: the preset's, 8)") Integer gpusPerNode;
    @Option(names = "--gpu-memory-gib", description = "device memory per GPU, GiB (default: the preset's)") Double gpuMemoryGib;
    @Option(names = "--host-memory-gib", description = "host memory per node, GiB (default: the preset's)") Double hostMemoryGib;
    @Option(names = "--nvlink-gbytes-per-s", description = "intra-node bandwidth per GPU each way, GB/s (default: the preset's)")
    Double nvlinkGbytesPerS;
    @Option(names = "--nvlink-latency-us", description = "intra-node latency per message, microseconds (default: the preset's)")
    Double nvlinkLatencyUs;
    @Option(names = "--network-gbytes-per-s", description = "inter-node bandwidth per GPU each way, GB/s (default: the preset's)")
    Double networkGbytesPerS;
    @Option(names = "--network-latency-us", description = "inter-node latency per message, microseconds (default: the preset's)")
    Double networkLatencyUs;
    @Option(names = "--host-link-gbytes-per-s", description = "GPU-host copy bandwidth each way, GB/s (default: the preset's)")
    Double hostLinkGbytesPerS;
    @Option(names = "--matmul-tflops", description = "achieved matmul throughput per GPU, TFLOP/s (default: the preset's)")
    Double matmulTflops;
    @Option(names = "--attention-tflops", description = "achieved attention forward throughput per GPU for every call size, "
            + "TFLOP/s; replaces the preset's rates by call size (needs --attention-bwd-tflops)") Double attentionTflops;
    @Option(names = "--attention-bwd-tflops", description = "the same for backward, TFLOP/s, counting backward as 2.5x the "
            + "forward's FLOPs (needs --attention-tflops)") Double attentionBwdTflops;

    @Option(names = "--top", defaultValue = "30", description = "rows of the ranking shown (default: ${DEFAULT-VALUE})") int top;
    @Option(names = "--chart", description = "also write a PNG bar chart of the feasible settings to this file") Path chart;
    @Option(names = "--papers", description = "print the papers' published numbers beside the model's instead "
            + "(bench/planner/README.md)")
    boolean papers;

    public static void main(String[] args) {
        System.exit(new CommandLine(new PlanCommand()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        if (papers) {
            System.out.print(PaperReport.markdown());
            return 0;
        }
        if (seqLen < 1) {
            throw new IllegalArgumentException("--seq-len is required: the tokens per sequence, like 131072, 128K or 2M");
        }
        if (top < 1) {
            throw new IllegalArgumentException("--top " + top + " must be at least 1: the rows of the ranking shown");
        }
        if (batch < 1) {
            throw new IllegalArgumentException("--batch " + batch + " must be at least 1: the sequences per optimizer step");
        }
        if (chart != null) {
            requireWritableFolder(chart.toAbsolutePath().getParent());
        }
        ModelShape shape = modelShape();
        ClusterSpec spec = clusterSpec();
        CostModel costs = new CostModel(shape, causal, spec, stack == StackChoice.LONGBOW ? new LongbowStack() : Zero3Stack.deepSpeed());
        Search search = search(spec);
        Plan plan = Planner.plan(costs, search);
        System.out.print(PlanReport.header(costs, search));
        System.out.println();
        System.out.print(PlanReport.plan(plan, top));
        System.out.println();
        System.out.print(PlanAnswer.of(plan, costs, search, stack == StackChoice.LONGBOW));
        if (chart != null && Charts.unavailableReason() != null) {
            System.out.println("\nchart skipped: " + Charts.unavailableReason());
        } else if (chart != null && !plan.nothingFits()) {
            try {
                PlanChart.write(plan.ranked(), shape.name() + ", " + Tokens.format(seqLen) + " tokens, " + spec.ranks() + " GPUs", chart);
            } catch (IOException e) {
                throw new IllegalArgumentException("--chart " + chart + " cannot be written (" + e.getMessage()
                        + "); choose a file in a folder you can write", e);
            }
            System.out.println("\nchart: " + chart);
        }
        return plan.nothingFits() ? 3 : 0;
    }

    private Search search(ClusterSpec spec) {
        Precision precision = Precision.defaultFor(Backends.provider(spec.backend()).trainingDTypes());
        // longbow train has one sequence-parallel group over all ranks and no checkpoint offload: nothing else is tried
        boolean longbow = stack == StackChoice.LONGBOW;
        return new Search(seqLen, causal, precision, batch, longbow ? List.of(1) : Search.divisors(spec.ranks()), settings(recompute),
                longbow ? List.of(false) : List.of(false, true), settings(shardModelStates));
    }

    private static List<Boolean> settings(Tried tried) {
        return switch (tried) {
            case BOTH -> List.of(false, true);
            case ON -> List.of(true);
            case OFF -> List.of(false);
        };
    }

    /** The chart's folder must take a file: found before the ranking is computed and printed, not after. */
    private void requireWritableFolder(Path folder) {
        try {
            Files.delete(Files.createTempFile(folder, ".longbow-plan-", ".png"));
        } catch (IOException e) {
            throw new IllegalArgumentException("--chart " + chart + ": cannot write into " + folder + " ("
                    + IoFailures.reason(e) + "); choose a file in a folder you can write", e);
        }
    }

    private ModelShape modelShape() {
        if (!model.equals("custom")) {
            return ModelShape.preset(model);
        }
        if (layers == null || hidden == null || heads == null || ffn == null || vocab == null) {
            throw new IllegalArgumentException("--model custom needs --layers, --hidden, --heads, --ffn and --vocab");
        }
        return new ModelShape("custom", layers, hidden, heads, kvHeads == null ? heads : kvHeads, ffn,
                mlpMatrices == null ? 3 : mlpMatrices, vocab);
    }

    private ClusterSpec clusterSpec() {
        ClusterSpec c = ClusterSpec.preset(cluster).withNodes(nodes);
        if (gpusPerNode != null) {
            c = c.withGpusPerNode(gpusPerNode);
        }
        c = c.withMemory(gpuMemoryGib == null ? c.gpuMemory() : gpuMemoryGib * ClusterSpec.GIB,
                hostMemoryGib == null ? c.hostMemory() : hostMemoryGib * ClusterSpec.GIB);
        c = c.withLinks(or(nvlinkGbytesPerS, 1e9, c.nvlink()), or(nvlinkLatencyUs, 1e-6, c.nvlinkLatency()),
                or(networkGbytesPerS, 1e9, c.network()), or(networkLatencyUs, 1e-6, c.networkLatency()),
                or(hostLinkGbytesPerS, 1e9, c.hostLink()));
        if ((attentionTflops == null) != (attentionBwdTflops == null)) {
            throw new IllegalArgumentException("--attention-tflops and --attention-bwd-tflops go together: one rate each for "
                    + "forward and backward replaces the preset's rates by call size");
        }
        AttentionRates rates = attentionTflops == null ? c.attentionRates()
                : AttentionRates.constant(attentionTflops * 1e12, attentionBwdTflops * 1e12);
        return c.withCompute(or(matmulTflops, 1e12, c.matmulFlops()), rates);
    }

    /** {@code option} in its unit times {@code unit}, or {@code preset} when the option was not given. */
    private static double or(Double option, double unit, double preset) {
        return option == null ? preset : option * unit;
    }

    /** The cluster presets, for --help. */
    static final class ClusterPresets implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return ClusterSpec.presetNames().iterator();
        }
    }

    /** The model presets, for --help. */
    static final class ModelPresets implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return ModelShape.presetNames().iterator();
        }
    }
}
