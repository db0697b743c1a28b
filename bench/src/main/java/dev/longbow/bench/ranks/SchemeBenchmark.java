package dev.longbow.bench.ranks;

import dev.longbow.parallel.AttentionBuffers;
import dev.longbow.parallel.AttentionShape;
import dev.longbow.parallel.Fpdt;
import dev.longbow.parallel.Hybrid;
import dev.longbow.parallel.Ring;
import dev.longbow.parallel.Scheme;
import dev.longbow.parallel.SequenceParallelAttention;
import dev.longbow.parallel.Ulysses;
import dev.longbow.parallel.WallFacer;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One attention forward and backward of each scheme on {@value #RANKS} in-process ranks of the CPU
 * backend: causal fp32, S = {@value #SEQ_LEN}, 8 heads of 64. Every rank's scheme and buffers are
 * made once; an operation is every rank's forward then backward.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class SchemeBenchmark {
    static final int RANKS = 4;
    static final int SEQ_LEN = 1024;
    /** Each scheme with the settings the command line would give it on 4 ranks of 1024 tokens. */
    private static final List<Scheme> SCHEMES = List.of(new Ulysses(), new Ring(),
            new WallFacer(2, WallFacer.Arrangement.TEAMS_ADJACENT), new Fpdt(64), new Hybrid(2));

    @Param({"ulysses", "ring", "wallfacer", "fpdt", "hybrid"})
    public String scheme;

    private InProcessRanks ranks;
    private SequenceParallelAttention[] attention;
    private AttentionBuffers[] buffers;

    @Setup
    public void setUp() {
        Scheme chosen = SCHEMES.stream().filter(s -> s.name().equals(scheme)).findFirst().orElseThrow(() ->
                new IllegalArgumentException("no scheme '" + scheme + "' among " + SCHEMES.stream().map(Scheme::name).toList()));
        AttentionShape shape = AttentionShape.of(SEQ_LEN, 8, 64);
        ranks = new InProcessRanks(RANKS);
        attention = new SequenceParallelAttention[RANKS];
        buffers = new AttentionBuffers[RANKS];
        ranks.run((rank, backend, comm) -> {
            attention[rank] = chosen.attention(shape, backend, comm);
            buffers[rank] = AttentionBuffers.allocate(backend, shape, shape.localLen(RANKS));
            SplittableRandom random = new SplittableRandom(rank);
            AttentionBuffers b = buffers[rank];
            for (var t : List.of(b.q(), b.k(), b.v(), b.dout())) {
                float[] values = new float[Math.toIntExact(t.numel())];
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) (random.nextDouble() * 2 - 1);
                }
                backend.upload(values, t);
            }
        });
    }

    @TearDown
    public void tearDown() {
        ranks.run((rank, backend, comm) -> {
            attention[rank].close();
            buffers[rank].close();
        });
        ranks.close();
    }

    @Benchmark
    public void forwardBackward() {
        ranks.run((rank, backend, comm) -> {
            try (SequenceParallelAttention.Saved saved = buffers[rank].forward(attention[rank])) {
                buffers[rank].backward(attention[rank], saved);
            }
            backend.synchronize();
        });
    }
}
