package dev.longbow.samples.cli;

import dev.longbow.checkpoint.IoFailures;
import dev.longbow.plan.ClusterSpec;
import dev.longbow.plan.Estimate;
import dev.longbow.plan.ModelShape;
import dev.longbow.plan.PlanReport;
import dev.longbow.plan.Planner;
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
 * described cluster, ranked by the cost model's predicted step time; the losers say why they lose.
 */
@Command(name = "plan", mixinStandardHelpOptions = true,
        description = "Rank every sequence-parallel scheme and setting for a model, a sequence length and a cluster.")
public final class PlanCommand implements Callable<Integer> {

    @Option(names = "--model", defaultValue = "llama3-8b", description = "preset (${COMPLETION-CANDIDATES}) or 'custom' with the dimensions below; default ${DEFAULT-VALUE}",
            completionCandidates = ModelPresets.class)
    String model;

    @Option(names = "--layers") Integer layers;
    @Option(names = "--hidden") Integer hidden;
    @Option(names = "--heads") Integer heads;
    @Option(names = "--kv-heads") Integer kvHeads;
    @Option(names = "--ffn") Integer ffn;
    @Option(names = "--vocab") Integer vocab;
    @Option(names = "--mlp-matrices", description = "2 (GPT) or 3 (SwiGLU)") Integer mlpMatrices;

    @Option(names = "--seq-len", description = "tokens per sequence: 131072, 128K, 2M", converter = Tokens.class)
    long seqLen;

    @Option(names = "--papers", description = "print the papers' published numbers beside the model's (bench/planner/README.md)")
    boolean papers;

    @Option(names = "--causal", defaultValue = "true", arity = "1", description = "default ${DEFAULT-VALUE}")
    boolean causal;

    @Option(names = "--cluster", defaultValue = "h100", description = "preset: h100, a100; default ${DEFAULT-VALUE}")
    String cluster;

    @Option(names = "--nodes", defaultValue = "1") int nodes;
    @Option(names = "--gpus-per-node") Integer gpusPerNode;
    @Option(names = "--gpu-memory-gib") Double gpuMemoryGib;
    @Option(names = "--host-memory-gib", description = "per node") Double hostMemoryGib;
    @Option(names = "--nvlink-gbps", description = "GB/s per GPU each way") Double nvlinkGbps;
    @Option(names = "--nvlink-latency-us") Double nvlinkLatencyUs;
    @Option(names = "--network-gbps", description = "GB/s per GPU each way") Double networkGbps;
    @Option(names = "--network-latency-us") Double networkLatencyUs;
    @Option(names = "--matmul-tflops", description = "achieved, from the benchmarks") Double matmulTflops;
    @Option(names = "--attention-tflops", description = "achieved flash-attention forward, from the benchmarks") Double attentionTflops;
    @Option(names = "--attention-bwd-tflops", description = "achieved backward (counted as 2.5x forward FLOPs)") Double attentionBwdTflops;

    @Option(names = "--top", defaultValue = "30", description = "rows shown, default ${DEFAULT-VALUE}") int top;
    @Option(names = "--chart", description = "write a PNG bar chart of the feasible settings here") Path chart;

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
        if (chart != null) {
            requireWritableFolder(chart.toAbsolutePath().getParent());
        }
        ModelShape shape = modelShape();
        ClusterSpec spec = clusterSpec();
        List<Estimate> ranked = Planner.rank(shape, seqLen, causal, spec);
        System.out.printf(Locale.ROOT, "%s, %s tokens%s, on %d x %d %s GPUs (%.0f GiB; NVLink %.0f GB/s, network %.0f GB/s; "
                        + "matmul %.0f, attention %.0f/%.0f TFLOP/s)%n%n", shape.name(), Tokens.format(seqLen), causal ? " causal" : "",
                spec.nodes(), spec.gpusPerNode(), spec.name(), spec.gpuMemory() / ClusterSpec.GIB, spec.nvlink() / 1e9,
                spec.network() / 1e9, spec.matmulFlops() / 1e12, spec.attentionFlops() / 1e12, spec.attentionBackwardFlops() / 1e12);
        System.out.print(PlanReport.plan(ranked, top));
        if (chart != null && Charts.unavailableReason() != null) {
            System.out.println("\nchart skipped: " + Charts.unavailableReason());
        } else if (chart != null) {
            try {
                PlanChart.write(ranked, shape.name() + ", " + Tokens.format(seqLen) + " tokens, " + spec.ranks() + " GPUs", chart);
            } catch (IOException e) {
                throw new IllegalArgumentException("--chart " + chart + " cannot be written (" + e.getMessage()
                        + "); choose a file in a folder you can write", e);
            }
            System.out.println("\nchart: " + chart);
        }
        return ranked.getFirst().feasible() ? 0 : 3;
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
        c = c.withLinks(nvlinkGbps == null ? c.nvlink() : nvlinkGbps * 1e9, nvlinkLatencyUs == null ? c.nvlinkLatency() : nvlinkLatencyUs * 1e-6,
                networkGbps == null ? c.network() : networkGbps * 1e9, networkLatencyUs == null ? c.networkLatency() : networkLatencyUs * 1e-6);
        return c.withThroughput(matmulTflops == null ? c.matmulFlops() : matmulTflops * 1e12,
                attentionTflops == null ? c.attentionFlops() : attentionTflops * 1e12,
                attentionBwdTflops == null ? c.attentionBackwardFlops() : attentionBwdTflops * 1e12);
    }

    /** The model presets, for --help. */
    static final class ModelPresets implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return ModelShape.presetNames().iterator();
        }
    }
}
