package dev.longbow.plan;

import java.util.List;
import java.util.Locale;

/** Plans and paper comparisons as markdown tables, for the terminal and for bench/planner. */
public final class PlanReport {
    private PlanReport() {
    }

    /**
     * What a plan was asked and everything it assumed: the model, the sequence and the cluster;
     * the stack's memory and traffic; the throughputs and links; how MFU counts; what a tie is.
     */
    public static String header(CostModel costs, Search search) {
        ModelShape m = costs.model();
        ClusterSpec c = costs.cluster();
        return String.format(Locale.ROOT, """
                        %s (%.2fB parameters), %d-token%s sequences, batch %s, on %d x %d %s GPUs (%.0f GiB each, %.0f GiB host per node)
                        Assumed:
                        - stack: %s
                        - matmul %.0f TFLOP/s achieved; MFU's peak %.0f TFLOP/s
                        - %s
                        - links per GPU each way: NVLink %.0f GB/s (%.0f us), network %.0f GB/s (%.0f us), host %.0f GB/s; transfers overlap \
                        compute only where the scheme's schedule overlaps them
                        - MFU and tokens/s count %s
                        - runs within %.0f%% of the fastest (the model's median error on published steps it was not fitted to) are a tie, listed by fewest bytes on the network, then \
                        NVLink, then the host link
                        """, m.name(), m.params() / 1e9, search.seqLen(), search.causal() ? " causal" : "",
                search.batch() == 0 ? "one per group" : search.batch(), c.nodes(), c.gpusPerNode(), c.name(), c.gpuMemory() / ClusterSpec.GIB,
                c.hostMemory() / ClusterSpec.GIB, costs.stack().describe(), c.matmulFlops() / 1e12, c.peakFlops() / 1e12,
                c.attentionRates().describe(), c.nvlink() / 1e9, c.nvlinkLatency() * 1e6, c.network() / 1e9, c.networkLatency() * 1e6,
                c.hostLink() / 1e9, FlopCount.MODEL.describe(), 100 * Plan.TIE_BAND);
    }

    /**
     * The ranked runs: the tie for the best first (fewest bytes on the slowest link first), then
     * the other feasible ones with their slowdown against the fastest and whether waiting on
     * transfers dominates, then the infeasible ones with their reason.
     */
    public static String plan(Plan plan, int limit) {
        StringBuilder b = new StringBuilder();
        b.append("| # | scheme | settings | layout | step (s) | tokens/s | MFU | network GiB/GPU | NVLink GiB/GPU | waits | GPU GiB"
                + " | host GiB/node | verdict |\n");
        b.append("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        Estimate fastest = plan.fastest();
        int n = 0;
        for (Estimate e : plan.ranked()) {
            if (++n > limit) {
                b.append(String.format(Locale.ROOT, "| | ... %d more | | | | | | | | | | | |%n", plan.ranked().size() - limit));
                break;
            }
            Run r = e.run();
            String settings = r.scheme().settings(r.sequenceParallel());
            if (!e.feasible()) {
                b.append(String.format(Locale.ROOT, "| %d | %s | %s | %s | | | | | | | %s | %s | %s |%n", n, r.scheme().name(), settings,
                        r.settings(), e.memory() == null ? "" : gib(e.memory().gpu()),
                        e.memory() == null ? "" : String.format(Locale.ROOT, "%.0f", e.memory().hostPerNode() / ClusterSpec.GIB),
                        e.infeasible()));
                continue;
            }
            b.append(String.format(Locale.ROOT, "| %d | %s | %s | %s | %.3g | %.3g | %.1f%% | %.1f | %.1f | %.0f%% | %s | %.0f | %s |%n", n,
                    r.scheme().name(), settings, r.settings(), e.stepSeconds(), e.tokensPerSecond(), 100 * e.mfu(),
                    e.bytes(Link.NETWORK) / ClusterSpec.GIB, e.bytes(Link.NVLINK) / ClusterSpec.GIB,
                    100 * e.exposedSeconds() / e.stepSeconds(), gib(e.memory().gpu()), e.memory().hostPerNode() / ClusterSpec.GIB,
                    verdict(e, n <= plan.tied(), fastest, plan.tieBand())));
        }
        return b.toString();
    }

    private static String gib(double bytes) {
        return String.format(Locale.ROOT, "%.1f", bytes / ClusterSpec.GIB);
    }

    private static String verdict(Estimate e, boolean tie, Estimate fastest, double band) {
        String bound = e.communicationBound() ? "communication-bound" : "compute-bound";
        String slower = e == fastest ? "fastest" : String.format(Locale.ROOT, "+%.0f%%", 100 * (e.stepSeconds() / fastest.stepSeconds() - 1));
        return tie ? String.format(Locale.ROOT, "tie (within %.0f%%), %s, %s", 100 * band, slower, bound) : slower + ", " + bound;
    }

    /** WallFacer's fastest setting against Ring, point by point. */
    public static String gains(List<PaperComparisons.WallFacerGain> gains) {
        StringBuilder b = new StringBuilder("| GPUs | tokens | per GPU | Ring step (s) | fastest WallFacer | its step (s) | gain |\n"
                + "|---:|---:|---:|---:|---|---:|---:|\n");
        for (PaperComparisons.WallFacerGain g : gains) {
            b.append(String.format(Locale.ROOT, "| %d | %s | %s | %.2f | %s | %.2f | %s |%n", g.gpus(), PaperComparisons.tokens(g.seqLen()),
                    PaperComparisons.tokens(g.seqLen() / g.gpus()), g.ringSeconds(),
                    g.faster() == null ? "none faster" : g.faster().settings(g.gpus()), g.bestSeconds(), percent(g.speedup())));
        }
        return b.toString();
    }

    /** The gain at every point (columns) for each network bandwidth per GPU (rows, bytes/s). */
    public static String gainsByNetwork(double... networks) {
        StringBuilder b = new StringBuilder("| network per GPU |");
        StringBuilder rule = new StringBuilder("|---:|");
        for (long[] point : PaperComparisons.WALLFACER_POINTS) {
            b.append(String.format(Locale.ROOT, " %d GPUs, %s |", point[0], PaperComparisons.tokens(point[1])));
            rule.append("---:|");
        }
        b.append('\n').append(rule).append('\n');
        for (double network : networks) {
            b.append(String.format(Locale.ROOT, "| %.0f GB/s |", network / 1e9));
            for (PaperComparisons.WallFacerGain g : PaperComparisons.wallFacerGains(network)) {
                b.append(' ').append(percent(g.speedup())).append(" |");
            }
            b.append('\n');
        }
        return b.toString();
    }

    private static String percent(double gain) {
        return String.format(Locale.ROOT, "%.0f%%", 100 * gain);
    }

    public static String comparisons(List<PaperComparisons> rows) {
        StringBuilder b = new StringBuilder("| paper | source | setting | quantity | published | model | tolerance | within |\n|---|---|---|---|---:|---:|---|---|\n");
        for (PaperComparisons r : rows) {
            b.append(String.join(" | ", "| " + r.paper(), r.source(), r.setting(), r.quantity(), r.published(), r.predicted(),
                    r.tolerance(), r.within() ? "yes" : "**no**")).append(" |\n");
        }
        return b.toString();
    }

    /** The calibration's points: published tokens/s per GPU beside the model's, fitted rows first. */
    public static String calibration(List<Calibration.Point> points) {
        StringBuilder b = new StringBuilder("| role | source | setting | GPUs | published tok/s/GPU | model | error | within 25% |\n"
                + "|---|---|---|---:|---:|---:|---:|---|\n");
        for (Calibration.Point p : points) {
            PublishedStep s = p.step();
            b.append(String.join(" | ", "| " + (p.fitted() ? "fitted (" + s.rate() + ")" : "held out"), s.source(), s.setting(),
                    String.valueOf(s.run().ranks()), String.format(Locale.ROOT, "%.0f", s.tokensPerSecondPerGpu()),
                    String.format(Locale.ROOT, "%.0f", p.predicted()), String.format(Locale.ROOT, "%+.1f%%", 100 * p.error()),
                    p.fitted() ? "(fitted)" : p.within() ? "yes" : "**no**")).append(" |\n");
        }
        return b.toString();
    }
}
