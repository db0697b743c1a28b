package dev.longbow.samples.plancheck;

import dev.longbow.comm.RankLaunchers;
import dev.longbow.parallel.AttentionCall;
import dev.longbow.parallel.AttentionShape;
import dev.longbow.parallel.Fpdt;
import dev.longbow.parallel.Hybrid;
import dev.longbow.parallel.Ring;
import dev.longbow.parallel.Scheme;
import dev.longbow.parallel.Ulysses;
import dev.longbow.parallel.WallFacer;
import dev.longbow.plan.AttentionRates;
import dev.longbow.plan.ClusterSpec;
import dev.longbow.plan.SchedulePricer;
import dev.longbow.samples.SchemeTimes;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Slab;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The cost model's forward and backward times for one attention layer on the CPU backend (ranks
 * as threads), beside the scheme samples' measured times, all in one JVM at steady state: a
 * warm-up round, then rounds that each measure the calibration and run every scheme, so that the
 * JIT's state and the machine's drift are shared by what is predicted and what is measured.
 *
 * <p>The calibration is independent of the scheme runs: the copy bandwidth, the in-process
 * communicator's per-message latency (an all-to-all of 4-byte blocks), and the attention
 * kernels' throughput for each call shape the model prices (asked of the model itself), measured
 * with that many ranks issuing the call at once. The last column prices every call at a one-rank
 * Ring run's throughput instead (the model before rates by shape). Each scheme is one record,
 * which the cost model prices and the sample runs.
 *
 * <p>Arguments: ranks, sequence length, heads, head dim, rounds, iterations per round.
 */
public final class CpuCheck {
    private CpuCheck() {
    }

    public static void main(String[] args) {
        int ranks = Integer.parseInt(args[0]);
        long seqLen = Long.parseLong(args[1]);
        int heads = Integer.parseInt(args[2]);
        int headDim = Integer.parseInt(args[3]);
        int rounds = Integer.parseInt(args[4]);
        int iterations = Integer.parseInt(args[5]);
        // FPDT in four chunks per rank
        List<Scheme> schemes = List.of(new Ulysses(), new Ring(), new Hybrid(2), new WallFacer(2, WallFacer.Arrangement.TEAMS_ADJACENT),
                new Fpdt(seqLen / ranks / 4));
        AttentionShape attention = new AttentionShape(seqLen, heads, heads, headDim, DType.F32, true);
        List<AttentionCall> calls = schemes.stream().flatMap(s -> s.schedule(ranks, attention).calls()).distinct().toList();

        new Samples(calls, ranks, schemes, attention, iterations).round(0);
        Samples m = new Samples(calls, ranks, schemes, attention, iterations);
        for (int r = 0; r < rounds; r++) {
            m.round(r);
        }

        double copy = median(m.copies);
        double latency = median(m.latencies);
        double oneForward = m.oneRank.forwardFlopsPerSecond(seqLen, heads, headDim);
        double oneBackward = 2.5 * oneForward * m.oneRank.forwardMedian() / m.oneRank.backwardMedian();
        SchedulePricer costs = new SchedulePricer(ClusterSpec.cpu(ranks, 16 * ClusterSpec.GIB, copy, latency, oneForward, m.rates));
        SchedulePricer oneRate = new SchedulePricer(ClusterSpec.cpu(ranks, 16 * ClusterSpec.GIB, copy, latency, oneForward,
                AttentionRates.constant(oneForward, oneBackward)));

        System.out.printf(Locale.ROOT, "S=%d H=%d D=%d causal, %d ranks, one JVM: a warm-up round, then %d rounds of %d iterations"
                        + " (medians of %d); one rank: forward %.2f GFLOP/s, backward %.2f GFLOP/s; copy %.2f GB/s, %.1f us a message%n",
                seqLen, heads, headDim, ranks, rounds, iterations, rounds * iterations, oneForward / 1e9, oneBackward / 1e9, copy / 1e9,
                latency * 1e6);
        System.out.printf(Locale.ROOT, "kernel throughput by call shape, %d callers at once:%n", ranks);
        m.rates.table().forEach((c, r) -> System.out.printf(Locale.ROOT, "- %dx%d %d heads %s: forward %.1f, backward %.1f GFLOP/s%n",
                c.queries(), c.keys(), c.heads(), c.diagonal() ? "diagonal" : "whole", r[0] / 1e9, r[1] / 1e9));
        System.out.println("| scheme | forward measured (ms) | predicted | backward measured (ms) | predicted | error fwd | error bwd"
                + " | error fwd+bwd | one rate for every call: error fwd+bwd |");
        System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (Scheme s : schemes) {
            Times t = m.times.get(s);
            SchedulePricer.Priced p = costs.price(s.schedule(ranks, attention));
            SchedulePricer.Priced flat = oneRate.price(s.schedule(ranks, attention));
            double mf = t.forwardMedian();
            double mb = t.backwardMedian();
            System.out.printf(Locale.ROOT, "| %s | %.1f | %.1f | %.1f | %.1f | %+.0f%% | %+.0f%% | %+.0f%% | %+.0f%% |%n", s.name(),
                    mf * 1e3, p.forward().seconds() * 1e3, mb * 1e3, p.backward().seconds() * 1e3, error(p.forward().seconds(), mf),
                    error(p.backward().seconds(), mb), error(p.forward().seconds() + p.backward().seconds(), mf + mb),
                    error(flat.forward().seconds() + flat.backward().seconds(), mf + mb));
        }
    }

    /** Everything one check measures, round after round. */
    private static final class Samples {
        final CallRates rates;
        final List<Double> copies = new ArrayList<>();
        final List<Double> latencies = new ArrayList<>();
        final Times oneRank = new Times();
        final Map<Scheme, Times> times = new LinkedHashMap<>();
        private final int ranks;
        private final List<Scheme> schemes;
        private final AttentionShape shape;
        private final int iterations;

        Samples(List<AttentionCall> calls, int ranks, List<Scheme> schemes, AttentionShape shape, int iterations) {
            this.rates = new CallRates(calls, ranks);
            this.ranks = ranks;
            this.schemes = schemes;
            this.shape = shape;
            this.iterations = iterations;
            schemes.forEach(s -> times.put(s, new Times()));
        }

        /** One round; the schemes' order turns with {@code r} so that none always follows the calibration. */
        void round(int r) {
            copies.add(copyBandwidth());
            latencies.add(messageLatency(ranks));
            rates.measure(iterations);
            oneRank.add(SchemeTimes.slowestRank(new Ring(), 1, shape, iterations));
            for (int i = 0; i < schemes.size(); i++) {
                Scheme s = schemes.get((i + r) % schemes.size());
                times.get(s).add(SchemeTimes.slowestRank(s, ranks, shape, iterations));
            }
        }
    }

    /** A scheme's forward and backward seconds, every timed iteration of every round. */
    private static final class Times {
        final List<Double> forward = new ArrayList<>();
        final List<Double> backward = new ArrayList<>();

        void add(long[][] nanos) {
            for (long n : nanos[0]) {
                forward.add(n * 1e-9);
            }
            for (long n : nanos[1]) {
                backward.add(n * 1e-9);
            }
        }

        double forwardMedian() {
            return median(forward);
        }

        double backwardMedian() {
            return median(backward);
        }

        double forwardFlopsPerSecond(long seqLen, int heads, int headDim) {
            return 4.0 * seqLen * seqLen * heads * headDim * 0.5 / forwardMedian();
        }
    }

    static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        return sorted.get(sorted.size() / 2);
    }

    private static double error(double predicted, double measured) {
        return 100 * (predicted / measured - 1);
    }

    /**
     * Seconds per message of the in-process communicator: {@code ranks} threads exchange a 4-byte
     * block with every other in all-to-alls, back to back, the median of a few runs' averages: the
     * links' per-message latency, which each message of a scheme pays on top of its bytes.
     */
    private static double messageLatency(int ranks) {
        int rounds = 1000;
        List<Double> perMessage = new ArrayList<>();
        for (int run = 0; run < 5; run++) {
            List<Long> nanos = RankLaunchers.forBackend("cpu").run(ranks, "cpu", (backend, comm) -> {
                try (Slab s = Slab.builder().add("send", DType.F32, ranks).add("recv", DType.F32, ranks).allocate(backend::allocate)) {
                    comm.barrier();
                    long t0 = System.nanoTime();
                    for (int i = 0; i < rounds; i++) {
                        comm.allToAll(s.get("send"), s.get("recv"));
                    }
                    backend.synchronize();
                    return System.nanoTime() - t0;
                }
            });
            perMessage.add(nanos.stream().mapToLong(Long::longValue).max().orElseThrow() * 1e-9 / rounds);
        }
        return median(perMessage);
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
