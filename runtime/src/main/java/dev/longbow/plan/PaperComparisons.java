package dev.longbow.plan;

import dev.longbow.model.Precision;
import dev.longbow.parallel.AttentionShape;
import dev.longbow.parallel.Fpdt;
import dev.longbow.parallel.Ring;
import dev.longbow.parallel.Scheme;
import dev.longbow.parallel.Ulysses;
import dev.longbow.parallel.WallFacer;
import dev.longbow.parallel.WallFacer.Arrangement;
import dev.longbow.tensor.DType;
import java.util.ArrayList;
import java.util.List;

/**
 * The papers' published volumes and memory limits beside the cost model's predictions for the
 * same setting. The published values are typed in from the papers (section or figure named in
 * {@code source}); the predictions come from the schemes' schedules, {@link CostModel} and
 * {@link Planner}.
 *
 * @param tolerance the error the comparison allows, in words
 */
public record PaperComparisons(String paper, String source, String setting, String quantity, String published,
                               String predicted, String tolerance, boolean within) {

    /** DeepSpeed-Ulysses section 3.2: per-link volume 4Nh/P per layer, constant when N and P grow together; Megatron-SP 4Nh. */
    public static List<PaperComparisons> ulysses() {
        ModelShape model = ModelShape.preset("gpt-30b");   // h = 7168, 64 heads: every degree below divides them
        List<PaperComparisons> rows = new ArrayList<>();
        for (int p : new int[] {8, 16, 32, 64}) {
            long n = 4096L * p;
            ClusterSpec cluster = ClusterSpec.preset("a100").withNodes(Math.max(1, p / 8));
            double elements = new SchedulePricer(cluster).price(new Ulysses().schedule(p, bf16(model, n))).forward().bytesSent()
                    / DType.BF16.byteSize();
            double paper = 4.0 * n * model.hidden() / p;
            double megatron = 4.0 * n * model.hidden();
            rows.add(new PaperComparisons("DeepSpeed-Ulysses", "sec. 3.2", "N=" + (n >> 10) + "K, P=" + p + ", h=" + model.hidden(),
                    "elements sent per rank per layer (Megatron-SP: " + String.format("%.3g", megatron) + ")",
                    String.format("%.4g (4Nh/P)", paper), String.format("%.4g", elements), "1/P (the paper rounds (P-1)/P to 1)",
                    Math.abs(elements - paper) <= paper / p + 1e-6 * paper));
        }
        return rows;
    }

    /** The causal bf16 attention of {@code model} over {@code seqLen} tokens. */
    static AttentionShape bf16(ModelShape model, long seqLen) {
        return new AttentionShape(seqLen, model.heads(), model.kvHeads(), model.headDim(), DType.BF16, true);
    }

    /** WallFacer/StarTrail's communication analysis: ring P2P (P-1)2Nh/P; StarTrail P2P (P-C^2)2Nh/(CP) in P/C^2-1 steps. */
    public static List<PaperComparisons> wallFacer() {
        ModelShape model = ModelShape.preset("gpt-7b");
        long n = 256L << 10;
        AttentionShape shape = bf16(model, n);
        List<PaperComparisons> rows = new ArrayList<>();
        for (int p : new int[] {16, 64}) {
            ClusterSpec cluster = ClusterSpec.preset("h100").withNodes(p / 8);
            double ring = new SchedulePricer(cluster).price(new Ring().schedule(p, shape)).forward().bytesSent();
            double paperRing = (p - 1) * 2.0 * n * model.hidden() / p * DType.BF16.byteSize();
            rows.add(p2pRow("Ring (C=1)", p, paperRing, ring));
            for (int c = 2; c * c <= p; c *= 2) {
                double predicted = new WallFacer(c, Arrangement.TEAMS_ADJACENT).subRingBytes(p, shape);
                double paper = (p - c * c) * 2.0 * n * model.hidden() / ((double) c * p) * DType.BF16.byteSize();
                rows.add(p2pRow("StarTrail C=" + c + " (" + (p / (c * c) - 1) + " steps)", p, paper, predicted));
            }
        }
        return rows;
    }

    /**
     * WallFacer's fastest setting against Ring at one point: the model's step times.
     *
     * @param faster      the fastest WallFacer, or null when none is faster than Ring
     * @param bestSeconds its step time, or Ring's when none is faster
     */
    public record WallFacerGain(int gpus, long seqLen, WallFacer faster, double ringSeconds, double bestSeconds) {
        public double speedup() {
            return ringSeconds / bestSeconds - 1;
        }
    }

    /**
     * The points of the paper's GPT runs that its summaries name: 8K tokens per GPU on 8 to 64 GPUs
     * (weak scaling), and 64K to 512K tokens on 64 GPUs.
     */
    public static final List<long[]> WALLFACER_POINTS = List.of(new long[] {8, 64 << 10}, new long[] {16, 128 << 10},
            new long[] {32, 256 << 10}, new long[] {64, 64 << 10}, new long[] {64, 128 << 10}, new long[] {64, 256 << 10},
            new long[] {64, 512 << 10});

    /**
     * GPT-7B on H100 nodes of 8, the {@code h100} preset with {@code network} bytes/s per GPU
     * between nodes, ZeRO-3 with recomputation: the fastest WallFacer setting (team size,
     * arrangement) against Ring, at {@link #WALLFACER_POINTS}.
     */
    public static List<WallFacerGain> wallFacerGains(double network) {
        List<WallFacerGain> gains = new ArrayList<>();
        for (long[] point : WALLFACER_POINTS) {
            int gpus = (int) point[0];
            ClusterSpec h100 = ClusterSpec.preset("h100");
            ClusterSpec cluster = h100.withNodes(gpus / h100.gpusPerNode())
                    .withLinks(h100.nvlink(), h100.nvlinkLatency(), network, h100.networkLatency(), h100.hostLink());
            CostModel costs = new CostModel(ModelShape.preset("gpt-7b"), true, cluster, Zero3Stack.deepSpeed());
            double ring = costs.estimate(zero3(new Ring(), gpus, point[1])).stepSeconds();
            WallFacer faster = null;
            double best = ring;
            for (int c = 2; c * c <= gpus; c *= 2) {
                for (Arrangement arrangement : List.of(Arrangement.TEAMS_ADJACENT, Arrangement.RINGS_ADJACENT)) {
                    WallFacer wallFacer = new WallFacer(c, arrangement);
                    double seconds = costs.estimate(zero3(wallFacer, gpus, point[1])).stepSeconds();
                    if (seconds < best) {
                        faster = wallFacer;
                        best = seconds;
                    }
                }
            }
            gains.add(new WallFacerGain(gpus, point[1], faster, ring, best));
        }
        return gains;
    }

    /** One sequence over all {@code gpus} GPUs, recomputed, bf16: the papers' long-sequence runs. */
    static Run zero3(Scheme scheme, int gpus, long seqLen) {
        return new Run(scheme, gpus, 1, seqLen, 1, true, Precision.BF16_MIXED, false);
    }

    private static PaperComparisons p2pRow(String scheme, int p, double paper, double predicted) {
        return new PaperComparisons("WallFacer (StarTrail)", "communication analysis (v4)", scheme + ", P=" + p + ", N=256K, GPT-7B",
                "P2P bytes sent per rank per layer (forward)", String.format("%.4g", paper), String.format("%.4g", predicted),
                "exact", Math.abs(predicted - paper) <= 1e-9 * paper);
    }

    /** FPDT figure 4: the longest sequence FPDT trains per model and GPU count (A100 80 GB, 4 per node). */
    public static List<PaperComparisons> fpdt() {
        List<PaperComparisons> rows = new ArrayList<>();
        Object[][] published = {
                {"gpt-2.7b", 2, 1L << 20}, {"gpt-6.7b", 4, 2L << 20}, {"llama3-8b", 4, 2L << 20},
                {"gpt-13b", 8, 3L << 20}, {"gpt-30b", 16, 3L << 20}, {"llama3-70b", 32, 4L << 20}};
        for (Object[] row : published) {
            ModelShape model = ModelShape.preset((String) row[0]);
            int gpus = (Integer) row[1];
            long paper = (Long) row[2];
            long predicted = longestFpdt(model, fpdtCluster(gpus));
            int steps = Math.abs(GRID.indexOf(predicted) - GRID.indexOf(paper));
            rows.add(new PaperComparisons("FPDT", "fig. 4", model.name() + " on " + gpus + " GPUs", "longest sequence",
                    tokens(paper), tokens(predicted), "one step of the paper's grid", steps <= 1));
        }
        return rows;
    }

    /** The sequence lengths FPDT's figure 4 tries. */
    static final List<Long> GRID = List.of(32L << 10, 64L << 10, 128L << 10, 256L << 10, 512L << 10,
            1L << 20, 2L << 20, 3L << 20, 4L << 20, 6L << 20, 8L << 20);

    /**
     * The memory the paper's implementation keeps per element of {@code [S/P, hidden]}, fitted to
     * its one published measurement (table 5: Llama-3 8B on 8 GPUs at 4M tokens uses 68.0 GiB);
     * the six lengths above are then predictions, not fits.
     */
    public static final Footprint FPDT_DEEPSPEED = new Footprint("deepspeed-fpdt", 22.3);

    static ClusterSpec fpdtCluster(int gpus) {
        return ClusterSpec.preset("a100").withGpusPerNode(Math.min(4, gpus)).withNodes(Math.max(1, gpus / 4));
    }

    /** The longest length of the grid at which some FPDT setting fits, checkpoints on the GPU or in host memory. */
    static long longestFpdt(ModelShape model, ClusterSpec cluster) {
        long longest = 0;
        CostModel costs = new CostModel(model, true, cluster, new Zero3Stack(FPDT_DEEPSPEED));
        for (long s : GRID) {
            Search search = new Search(s, true, Precision.BF16_MIXED, 0, List.of(1), List.of(true), List.of(false, true));
            boolean fits = Planner.estimates(costs, search).stream().anyMatch(e -> e.feasible() && e.run().scheme() instanceof Fpdt);
            if (fits) {
                longest = s;
            }
        }
        return longest;
    }

    static String tokens(long n) {
        return n >= 1L << 20 ? (n >> 20) + "M" : (n >> 10) + "K";
    }
}
