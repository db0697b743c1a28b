package dev.longbow.bench.cpu;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs {@link FmaPeakBenchmark} and {@link CpuAttentionBenchmark} in one JMH run and prints the
 * attention throughput in GFLOP/s beside the measured peak. JMH command-line options pass
 * through (e.g. {@code -p seqLen=4096 -wi 1 -i 1} for a short sanity run).
 */
public final class CpuAttentionReport {
    private CpuAttentionReport() {
    }

    public static void main(String[] args) throws Exception {
        var options = new OptionsBuilder()
                .parent(new CommandLineOptions(args))
                .include(FmaPeakBenchmark.class.getName())
                .include(CpuAttentionBenchmark.class.getName())
                .build();
        Collection<RunResult> results = new Runner(options).run();

        double peak = Double.NaN;
        List<String> rows = new ArrayList<>();
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            double score = r.getPrimaryResult().getScore();
            if (name.endsWith("fmaChains")) {
                peak = score * FmaPeakBenchmark.flopsPerOperation() / 1e9;
            }
        }
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            if (name.endsWith("fmaChains")) {
                continue;
            }
            int seqLen = Integer.parseInt(r.getParams().getParam("seqLen"));
            int headDim = Integer.parseInt(r.getParams().getParam("headDim"));
            double millis = r.getPrimaryResult().getScore();
            double gflops = CpuAttentionBenchmark.flops(name, seqLen, headDim) / (millis / 1e3) / 1e9;
            rows.add(String.format("%-16s %7d %4d %12.1f %10.1f %8.0f%%", name.substring(name.lastIndexOf('.') + 1), seqLen,
                    headDim, millis, gflops, 100 * gflops / peak));
        }
        System.out.printf("%nfp32 FMA peak (Vector API, %d lanes, %d chains, %d threads): %.1f GFLOP/s%n",
                FmaPeakBenchmark.F.length(), FmaPeakBenchmark.CHAINS, Runtime.getRuntime().availableProcessors(), peak);
        System.out.printf("CPU flash attention, causal, B=1 H=%d fp32%n", CpuAttentionBenchmark.HEADS);
        System.out.printf("%-16s %7s %4s %12s %10s %9s%n", "benchmark", "S", "D", "ms/op", "GFLOP/s", "of peak");
        rows.forEach(System.out::println);
    }
}
