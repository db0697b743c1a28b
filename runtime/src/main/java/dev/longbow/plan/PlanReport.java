package dev.longbow.plan;

import java.util.List;
import java.util.Locale;

/** Plans and paper comparisons as markdown tables, for the terminal and for bench/planner. */
public final class PlanReport {
    private PlanReport() {
    }

    /**
     * The ranked settings: the best first, each feasible one with its slowdown against the best and
     * whether waiting on transfers dominates, then the infeasible ones with their reason.
     */
    public static String plan(List<Estimate> ranked, int limit) {
        StringBuilder b = new StringBuilder();
        b.append("| # | scheme | setting | step (s) | TFLOP/s/GPU | sent/rank (GiB) | waits | GPU mem (GiB) | host/node (GiB) | verdict |\n");
        b.append("|---|---|---|---:|---:|---:|---:|---:|---:|---|\n");
        double best = ranked.isEmpty() ? 0 : ranked.getFirst().stepSeconds();
        int n = 0;
        for (Estimate e : ranked) {
            if (++n > limit) {
                b.append(String.format(Locale.ROOT, "| | ... %d more | | | | | | | | |%n", ranked.size() - limit));
                break;
            }
            if (!e.feasible() && e.gpuBytes() == 0) {
                b.append(String.format(Locale.ROOT, "| %d | %s | %s | | | | | | | %s |%n", n, e.scheme().name(), e.setting(), e.infeasible()));
                continue;
            }
            b.append(String.format(Locale.ROOT, "| %d | %s | %s | %.3g | %.0f | %.2f | %.0f%% | %.1f | %.0f | %s |%n", n,
                    e.scheme().name(), e.setting(), e.stepSeconds(), e.tflopsPerGpu(), e.bytesSent() / ClusterSpec.GIB,
                    100 * e.exposedSeconds() / e.stepSeconds(), e.gpuBytes() / ClusterSpec.GIB, e.hostBytesPerNode() / ClusterSpec.GIB,
                    verdict(e, best)));
        }
        return b.toString();
    }

    private static String verdict(Estimate e, double best) {
        if (!e.feasible()) {
            return e.infeasible();
        }
        String bound = e.communicationBound() ? "communication-bound" : "compute-bound";
        return e.stepSeconds() <= best ? "best, " + bound : String.format(Locale.ROOT, "+%.0f%%, %s", 100 * (e.stepSeconds() / best - 1), bound);
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
}
