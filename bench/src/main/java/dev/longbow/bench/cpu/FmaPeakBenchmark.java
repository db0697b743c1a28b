package dev.longbow.bench.cpu;

import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The machine's fp32 FMA peak as the Vector API reaches it: every core runs twelve independent
 * FMA chains in registers (enough to cover the FMA latency of every current x86 and ARM core), no
 * memory traffic. One operation is one vector FMA, i.e. {@code 2 * lanes} flops.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(Threads.MAX)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class FmaPeakBenchmark {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int STEPS = 4096;
    private static final int CHAINS = 12;

    /** Chosen so that the chains neither overflow nor go subnormal: x -> 0.999x + 0.001. */
    private final float multiplier = 0.999f;
    private final float addend = 0.001f;

    @Benchmark
    @OperationsPerInvocation(STEPS * CHAINS)
    public float fmaChains() {
        FloatVector a = FloatVector.broadcast(F, multiplier);
        FloatVector b = FloatVector.broadcast(F, addend);
        FloatVector c0 = FloatVector.broadcast(F, 0.1f);
        FloatVector c1 = FloatVector.broadcast(F, 0.2f);
        FloatVector c2 = FloatVector.broadcast(F, 0.3f);
        FloatVector c3 = FloatVector.broadcast(F, 0.4f);
        FloatVector c4 = FloatVector.broadcast(F, 0.5f);
        FloatVector c5 = FloatVector.broadcast(F, 0.6f);
        FloatVector c6 = FloatVector.broadcast(F, 0.7f);
        FloatVector c7 = FloatVector.broadcast(F, 0.8f);
        FloatVector c8 = FloatVector.broadcast(F, 0.9f);
        FloatVector c9 = FloatVector.broadcast(F, 1.0f);
        FloatVector c10 = FloatVector.broadcast(F, 1.1f);
        FloatVector c11 = FloatVector.broadcast(F, 1.2f);
        for (int i = 0; i < STEPS; i++) {
            c0 = c0.fma(a, b);
            c1 = c1.fma(a, b);
            c2 = c2.fma(a, b);
            c3 = c3.fma(a, b);
            c4 = c4.fma(a, b);
            c5 = c5.fma(a, b);
            c6 = c6.fma(a, b);
            c7 = c7.fma(a, b);
            c8 = c8.fma(a, b);
            c9 = c9.fma(a, b);
            c10 = c10.fma(a, b);
            c11 = c11.fma(a, b);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11)
                .reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }

    /** Flops per benchmark operation on this machine. */
    static int flopsPerOperation() {
        return 2 * F.length();
    }
}
