package dev.longbow.bench.tornado;

import java.util.Collection;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs {@link TornadoAttentionBenchmark} and prints GFLOP/s per backend and sequence length.
 * JMH options pass through (e.g. {@code -p seqLen=1024 -wi 1 -i 1}).
 */
public final class TornadoAttentionReport {
    private TornadoAttentionReport() {
    }

    public static void main(String[] args) throws Exception {
        var options = new OptionsBuilder().parent(new CommandLineOptions(args)).include(TornadoAttentionBenchmark.class.getName()).build();
        Collection<RunResult> results = new Runner(options).run();
        System.out.printf("%nflash attention forward, causal, B=1 H=%d D=%d fp32%n", TornadoAttentionBenchmark.HEADS,
                TornadoAttentionBenchmark.HEAD_DIM);
        System.out.printf("%-8s %6s %10s %9s%n", "backend", "S", "ms/op", "GFLOP/s");
        for (RunResult r : results) {
            int seqLen = Integer.parseInt(r.getParams().getParam("seqLen"));
            double millis = r.getPrimaryResult().getScore();
            System.out.printf("%-8s %6d %10.2f %9.2f%n", r.getParams().getParam("backend"), seqLen, millis,
                    TornadoAttentionBenchmark.flops(seqLen) / (millis / 1e3) / 1e9);
        }
    }
}
