package dev.longbow.samples.cli;

import dev.longbow.plan.ClusterSpec;
import dev.longbow.plan.CostModel;
import dev.longbow.plan.ModelShape;
import dev.longbow.plan.Setting;
import java.util.Locale;

/**
 * The cost model's forward and backward times for one attention layer on the CPU backend with
 * ranks as threads, for the scheme samples' default settings; bench/planner/cpu-check.sh puts
 * them beside the samples' measured times.
 *
 * <p>Arguments: ranks, sequence length, heads, head dim, the measured single-rank forward and
 * backward GFLOP/s. The copy bandwidth between rank threads is measured here.
 */
public final class CpuPrediction {
    private CpuPrediction() {
    }

    public static void main(String[] args) {
        int ranks = Integer.parseInt(args[0]);
        long seqLen = Long.parseLong(args[1]);
        int heads = Integer.parseInt(args[2]);
        int headDim = Integer.parseInt(args[3]);
        double forward = Double.parseDouble(args[4]) * 1e9;
        double backward = Double.parseDouble(args[5]) * 1e9;
        double copy = copyBandwidth();
        // attention only: the model's other dimensions do not enter an attention pass
        ModelShape shape = new ModelShape("sample", 1, heads * headDim, heads, heads, 4 * heads * headDim, 2, 1);
        ClusterSpec cpu = ClusterSpec.cpu(ranks, 16 * ClusterSpec.GIB, copy, 20e-6, forward, forward, backward);
        CostModel costs = new CostModel(shape, seqLen, true, cpu);
        Setting[] settings = {Setting.ulysses(ranks, false), Setting.ring(ranks, false), Setting.hybrid(2, ranks / 2, false),
                Setting.wallFacer(ranks, 2, true, false), Setting.fpdt(ranks, 4, true)};
        for (Setting s : settings) {
            CostModel.AttentionPass pass = costs.attentionPass(s);
            System.out.printf(Locale.ROOT, "%s %.1f %.1f%n", s.scheme().label(), pass.forwardSeconds() * 1e3, pass.backwardSeconds() * 1e3);
        }
        System.out.printf(Locale.ROOT, "copy %.2f GB/s%n", copy / 1e9);
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
