package dev.longbow.samples.cli;

import dev.longbow.plan.AttentionCall;
import dev.longbow.plan.AttentionRates;
import dev.longbow.plan.ClusterSpec;
import dev.longbow.plan.CostModel;
import dev.longbow.plan.ModelShape;
import dev.longbow.plan.Setting;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The cost model's forward and backward times for one attention layer on the CPU backend with
 * ranks as threads, for the scheme samples' default settings, priced with the kernels' rates by
 * call shape and, for comparison, with a one-rank Ring run's rate for every call (the model
 * before rates by shape); bench/planner/cpu-check.sh puts them beside the samples' measured times.
 *
 * <p>Arguments: ranks, sequence length, heads, head dim, iterations, and the one-rank run's forward
 * and backward GFLOP/s. The calibration is independent of the scheme runs: the copy bandwidth
 * between rank threads, and the attention kernels' throughput for each call shape the model
 * prices (asked of the model itself), measured with that many ranks issuing the call at once.
 */
public final class CpuPrediction {
    private CpuPrediction() {
    }

    public static void main(String[] args) {
        int ranks = Integer.parseInt(args[0]);
        long seqLen = Long.parseLong(args[1]);
        int heads = Integer.parseInt(args[2]);
        int headDim = Integer.parseInt(args[3]);
        int iterations = Integer.parseInt(args[4]);
        double oneRankForward = Double.parseDouble(args[5]) * 1e9;
        double oneRankBackward = Double.parseDouble(args[6]) * 1e9;
        double copy = copyBandwidth();
        // attention only: the model's other dimensions do not enter an attention pass
        ModelShape shape = new ModelShape("sample", 1, heads * headDim, heads, heads, 4 * heads * headDim, 2, 1);
        Setting[] settings = {Setting.ulysses(ranks, false), Setting.ring(ranks, false), Setting.hybrid(2, ranks / 2, false),
                Setting.wallFacer(ranks, 2, true, false), Setting.fpdt(ranks, 4, true)};

        CallRates rates = CallRates.measure(callsPriced(shape, seqLen, ranks, settings), ranks, iterations);
        CostModel costs = new CostModel(shape, seqLen, true, cpu(ranks, copy, rates));
        CostModel oneRate = new CostModel(shape, seqLen, true,
                ClusterSpec.cpu(ranks, 16 * ClusterSpec.GIB, copy, 20e-6, oneRankForward, oneRankForward, oneRankBackward));
        for (Setting s : settings) {
            CostModel.AttentionPass pass = costs.attentionPass(s);
            CostModel.AttentionPass flat = oneRate.attentionPass(s);
            System.out.printf(Locale.ROOT, "%s %.1f %.1f %.1f %.1f%n", s.scheme().label(), pass.forwardSeconds() * 1e3, pass.backwardSeconds() * 1e3,
                    flat.forwardSeconds() * 1e3, flat.backwardSeconds() * 1e3);
        }
        System.out.printf(Locale.ROOT, "copy %.2f GB/s%n", copy / 1e9);
        for (Map.Entry<AttentionCall, double[]> e : rates.table().entrySet()) {
            AttentionCall c = e.getKey();
            System.out.printf(Locale.ROOT, "rate %dx%d %d heads %s: forward %.1f, backward %.1f GFLOP/s%n", c.queries(), c.keys(),
                    c.heads(), c.diagonal() ? "diagonal" : "whole", e.getValue()[0] / 1e9, e.getValue()[1] / 1e9);
        }
    }

    /** The CPU backend on {@code ranks} threads at {@code rates}; the headline figures are the fastest shape's. */
    private static ClusterSpec cpu(int ranks, double copy, CallRates rates) {
        double forward = rates.table().values().stream().mapToDouble(r -> r[0]).max().orElseThrow();
        double backward = rates.table().values().stream().mapToDouble(r -> r[1]).max().orElseThrow();
        return ClusterSpec.cpu(ranks, 16 * ClusterSpec.GIB, copy, 20e-6, forward, forward, backward, rates);
    }

    /** The call shapes the model prices for {@code settings}: it is asked for them with rates that record each. */
    private static List<AttentionCall> callsPriced(ModelShape shape, long seqLen, int ranks, Setting... settings) {
        Set<AttentionCall> calls = new LinkedHashSet<>();
        AttentionRates recording = new AttentionRates() {
            @Override
            public double forward(AttentionCall call) {
                calls.add(call);
                return 1;
            }

            @Override
            public double backward(AttentionCall call) {
                calls.add(call);
                return 1;
            }
        };
        CostModel costs = new CostModel(shape, seqLen, true, ClusterSpec.cpu(ranks, 16 * ClusterSpec.GIB, 1, 0, 1, 1, 1, recording));
        for (Setting s : settings) {
            costs.attentionPass(s);
        }
        return new ArrayList<>(calls);
    }

    /** Bytes per second of a 64 MiB array copy, the best of a few. */
    private static double copyBandwidth() {
        byte[] a = new byte[1 << 26];
        byte[] b = new byte[1 << 26];
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 6; i++) {
            long t = System.nanoTime();
            System.arraycopy(a, 0, b, 0, a.length);
            best = Math.min(best, System.nanoTime() - t);
        }
        return a.length * 1e9 / best;
    }
}
