package dev.longbow.samples;

import dev.longbow.backend.Backend;
import dev.longbow.comm.Communicator;
import dev.longbow.comm.RankFailedException;
import dev.longbow.comm.RankLauncher;
import dev.longbow.parallel.AttentionBuffers;
import dev.longbow.parallel.AttentionShape;
import dev.longbow.parallel.CallStats;
import dev.longbow.parallel.SequenceLayout;
import dev.longbow.parallel.SequenceParallelAttention;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.HostAllocation;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import picocli.CommandLine;

/**
 * The driver every scheme sample runs: random inputs, the scheme on N ranks (threads and the
 * in-process communicator on the CPU; whatever launcher serves the backend elsewhere), timing,
 * communication and memory per rank, and a check against single-device attention. Every process
 * of a job reports on, and checks, the ranks it runs.
 */
final class SchemeSample {
    /** Above this many score entries (S^2 Hq D) the single-device check would not fit a small machine. */
    private static final double CHECK_LIMIT = Math.pow(2, 34);

    private SchemeSample() {
    }

    /**
     * A scheme's main: {@code longbow sample SCHEME ARGS...}. Exits 2 with one line for a mistake
     * in the options, 1 when a rank fails or the check does not pass.
     */
    static void main(String scheme, String[] args) {
        CommandLine cli = SampleCommand.commandLine();
        cli.setParameterExceptionHandler((e, given) -> {
            System.err.println(scheme + ": " + e.getMessage() + " (--help lists the options)");
            return 2;
        });
        cli.setExecutionExceptionHandler((e, command, parsed) -> {
            if (!(e instanceof RankFailedException || e instanceof IllegalArgumentException || e instanceof IllegalStateException)) {
                throw e;
            }
            System.err.println(scheme + ": " + e.getMessage());
            return e instanceof RankFailedException ? 1 : 2;
        });
        String[] all = new String[args.length + 1];
        all[0] = scheme;
        System.arraycopy(args, 0, all, 1, args.length);
        System.exit(cli.execute(all));
    }

    /**
     * The sample draws the whole sequence's inputs and results as Java arrays: what cannot be an
     * array, or cannot fit the heap, is refused before anything is drawn.
     */
    static void requireFits(SampleOptions o) {
        AttentionShape shape = o.shape();
        long elements = shape.seqLen() * (long) shape.heads() * shape.headDim();
        if (elements > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("--seq-len " + shape.seqLen() + " x --heads " + shape.heads() + " x --head-dim "
                    + shape.headDim() + " = " + elements + " elements per tensor, more than the " + (Integer.MAX_VALUE - 8) + " one Java array holds "
                    + "(the sample draws its inputs as arrays); use a smaller --seq-len");
        }
        long heap = 3L * Shards.INPUTS.size() * elements * Float.BYTES;   // the inputs, the ranks' copies, the results
        long max = Runtime.getRuntime().maxMemory();
        if (heap > max) {
            throw new IllegalArgumentException("--seq-len " + shape.seqLen() + " x --heads " + shape.heads() + " x --head-dim "
                    + shape.headDim() + " needs about " + bytes(heap) + " of Java heap for the sample's inputs and results, but this JVM may use "
                    + bytes(max) + "; use a smaller --seq-len, or a larger -Xmx");
        }
    }

    /** What one rank measured, and its output shards when the check is on. */
    record RankRun(int rank, long seed, long[] forwardNanos, long[] backwardNanos, CallStats forward, CallStats backward,
                   Shards outputs) {
    }

    /** Returns whether the check passed (or was skipped). */
    static boolean run(SampleOptions o) {
        o.scheme().validate(o.ranks(), o.shape());
        requireFits(o);
        return run(o, o.communicator().launcher(o.backend()));
    }

    /**
     * Runs the sample with {@code launcher}, which returns this process's ranks: all of them on one
     * machine, a share of them in a job of several processes (one JVM per node). Each process
     * checks the rows its own ranks hold, against the reference it computes itself from the
     * same seeded inputs.
     */
    static boolean run(SampleOptions o, RankLauncher launcher) {
        AttentionShape shape = o.shape();
        boolean check = o.check() && (double) shape.seqLen() * shape.seqLen() * shape.heads() * shape.headDim() <= CHECK_LIMIT;
        System.out.printf(Locale.ROOT, "%s on %d %s ranks: S=%d Hq=%d Hkv=%d D=%d %s %s%n", o.scheme().name(), o.ranks(),
                o.backend(), shape.seqLen(), shape.heads(), shape.kvHeads(), shape.headDim(), shape.causal() ? "causal" : "non-causal",
                shape.dtype().toString().toLowerCase(Locale.ROOT));
        Map<Long, Shards> drawn = new ConcurrentHashMap<>();
        List<RankRun> runs = launcher.run(o.ranks(), o.backend(), (backend, comm) -> runRank(o, drawn, check, backend, comm));

        String theCheck = runs.size() == o.ranks() ? "check" : "check of ranks " + runs.getFirst().rank() + ".." + runs.getLast().rank();
        long seed = runs.getFirst().seed();
        double forwardFlops = 4.0 * shape.seqLen() * shape.seqLen() * shape.heads() * shape.headDim() * (shape.causal() ? 0.5 : 1.0);
        report("forward", forwardFlops, runs.stream().map(RankRun::forwardNanos).toList(), runs.stream().map(RankRun::forward).toList());
        report("backward", 2.5 * forwardFlops, runs.stream().map(RankRun::backwardNanos).toList(), runs.stream().map(RankRun::backward).toList());
        if (!check) {
            System.out.println("  " + theCheck + " skipped, seed " + seed
                    + (o.check() ? ": the problem is too large for one device; use a smaller --seq-len" : ""));
            return true;
        }
        Shards expected = singleDevice(o, drawn.get(seed));
        SequenceLayout layout = o.scheme().layout();
        Shards mine = Shards.concat(runs.stream().map(RankRun::outputs).toList());
        Shards reference = Shards.concat(runs.stream().map(r -> expected.rowsOf(layout, r.rank(), o.ranks())).toList());
        return Shards.compare("  " + theCheck + " against single-device attention, seed " + seed + ":", mine, reference,
                shape.dtype() == DType.F32 ? 1e-4 : 2e-2);
    }

    /**
     * The slowest rank's forward and backward nanoseconds, iteration by iteration (after the
     * warm-up iteration), with no report and no check: for a harness that times many runs in one JVM.
     */
    static long[][] time(SampleOptions o) {
        o.scheme().validate(o.ranks(), o.shape());
        Map<Long, Shards> drawn = new ConcurrentHashMap<>();
        List<RankRun> runs = o.communicator().launcher(o.backend())
                .run(o.ranks(), o.backend(), (backend, comm) -> runRank(o, drawn, false, backend, comm));
        return new long[][] {slowest(runs.stream().map(RankRun::forwardNanos).toList()),
                slowest(runs.stream().map(RankRun::backwardNanos).toList())};
    }

    private static RankRun runRank(SampleOptions o, Map<Long, Shards> drawn, boolean check, Backend backend, Communicator comm) {
        AttentionShape shape = o.shape();
        SequenceLayout layout = o.scheme().layout();
        long seed = agreedSeed(backend, comm, o.seed());
        Shards inputs = drawn.computeIfAbsent(seed, s -> Shards.random(shape, new Random(s)));
        try (AttentionBuffers mine = AttentionBuffers.allocate(backend, shape, shape.localLen(comm.size()));
             SequenceParallelAttention scheme = o.scheme().attention(shape, backend, comm)) {
            inputs.rowsOf(layout, comm.rank(), comm.size()).uploadInputs(backend, mine);
            long[] forward = new long[o.iterations()];
            long[] backward = new long[o.iterations()];
            CallStats forwardStats = null;
            CallStats backwardStats = null;
            for (int it = -1; it < o.iterations(); it++) {
                comm.barrier();
                long t0 = System.nanoTime();
                try (SequenceParallelAttention.Saved saved = mine.forward(scheme)) {
                    backend.synchronize();
                    long t1 = System.nanoTime();
                    forwardStats = scheme.lastCall();
                    comm.barrier();
                    long t2 = System.nanoTime();
                    mine.backward(scheme, saved);
                    backend.synchronize();
                    long t3 = System.nanoTime();
                    backwardStats = scheme.lastCall();
                    if (it >= 0) {
                        forward[it] = t1 - t0;
                        backward[it] = t3 - t2;
                    }
                }
            }
            return new RankRun(comm.rank(), seed, forward, backward, forwardStats, backwardStats, check ? Shards.results(backend, mine) : null);
        }
    }

    /**
     * Rank 0's seed, on every rank, so that every process draws the same global inputs: in a job
     * of several processes each one took its default seed from its own clock.
     */
    static long agreedSeed(Backend backend, Communicator comm, long mine) {
        Slab.Builder declared = Slab.builder().add("mine", DType.I32, 2).add("all", DType.I32, 2L * comm.size());
        try (Slab dev = declared.allocate(backend::allocate); HostAllocation staging = new HostAllocation(2L * Integer.BYTES)) {
            Tensor host = HostAllocation.tensor(staging, DType.I32, 2);
            host.setInt(0, (int) (mine >>> 32));
            host.setInt(1, (int) mine);
            backend.tensors().copy(host, dev.get("mine"));
            comm.allGather(dev.get("mine"), dev.get("all"));
            backend.tensors().copy(dev.get("all").rows(0, 2), host);
            backend.synchronize();
            return (long) host.getInt(0) << 32 | Integer.toUnsignedLong(host.getInt(1));
        }
    }

    /** The whole attention on one device of the same backend: the oracle the schemes must reproduce. */
    private static Shards singleDevice(SampleOptions o, Shards inputs) {
        try (Backend backend = o.backend().open(0); AttentionBuffers all = AttentionBuffers.allocate(backend, o.shape(), o.shape().seqLen())) {
            inputs.uploadInputs(backend, all);
            all.forwardWhole();
            all.backwardWhole();
            return Shards.results(backend, all);
        }
    }

    /** Iteration by iteration, the slowest rank's time: a pass ends when its last rank does. */
    private static long[] slowest(List<long[]> nanos) {
        long[] slowest = new long[nanos.getFirst().length];
        for (long[] rank : nanos) {
            for (int i = 0; i < slowest.length; i++) {
                slowest[i] = Math.max(slowest[i], rank[i]);
            }
        }
        return slowest;
    }

    private static void report(String pass, double flops, List<long[]> nanos, List<CallStats> stats) {
        long[] slowest = slowest(nanos);
        Arrays.sort(slowest);
        double seconds = slowest.length == 0 ? Double.NaN : slowest[slowest.length / 2] * 1e-9;
        long sent = stats.stream().mapToLong(s -> s.traffic().bytesSent()).max().orElse(0);
        long received = stats.stream().mapToLong(s -> s.traffic().bytesReceived()).max().orElse(0);
        long peak = stats.stream().mapToLong(CallStats::peakBufferBytes).max().orElse(0);
        long host = stats.stream().mapToLong(CallStats::hostBufferBytes).max().orElse(0);
        System.out.printf(Locale.ROOT, "  %-9s %9.2f ms %8.2f GFLOP/s   per rank: sent %s, received %s, peak buffers %s (host %s)%n",
                pass, seconds * 1e3, flops / seconds * 1e-9, bytes(sent), bytes(received), bytes(peak), bytes(host));
    }

    static String bytes(long b) {
        if (b < 1024) {
            return b + " B";
        }
        double v = b;
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.2f %s", v, units[u]);
    }
}
