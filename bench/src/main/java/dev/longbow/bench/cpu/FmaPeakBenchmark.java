package dev.longbow.bench.cpu;

import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
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
 * The machine's fp32 FMA peak as the Vector API reaches it: every core runs independent FMA
 * chains in registers, no memory traffic. One operation is one step of every chain, {@link #CHAINS}
 * vector FMAs: {@code 2 * lanes * CHAINS} flops.
 *
 * <p>Two things make it reach the FMA rate in steady state, not only in warm-up:
 * <ul>
 * <li>The multiplier and addend are read from non-final fields. As compile-time constants (the
 *     earlier version's {@code final float} fields) they stay opaque while the method runs on its
 *     own, so JMH's warm-up iterations reach the peak; once C2 inlines the method into JMH's
 *     measurement loop it folds them in as constants and the loop runs at half rate (measured on
 *     Zen 5, 16 lanes: 12 chains 3.0-3.4 G FMA/s per CPU-second after the recompile against
 *     6.7-7.0 with opaque operands). That, not the chain count, the VM or the clock, was the
 *     "settles at half after warm-up".</li>
 * <li>The vectors are made inside the chain methods from the species constant. Passed in as
 *     {@code FloatVector} parameters, a chain method too large to inline into the benchmark
 *     method (the 24-chain one) saw an abstract type, called {@code fma} virtually and ran the
 *     Vector API's boxed fallback: 4.6 GFLOP/s instead of about 190 on Zen 5.</li>
 * <li>The chains cover FMA latency x FMA pipes of every current core (4-5 cycles x 2 pipes, so
 *     10): twelve where the species has 16 registers (AVX2: twelve chains and the two operands
 *     fill fourteen), twenty-four where it has 32 (AVX-512, whose cores may pair two pipes of
 *     4-cycle FMAs with deeper queues), leaving headroom without spilling.</li>
 * </ul>
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
    /** 512-bit vectors come with 32 registers (AVX-512), narrower ones here with 16 (AVX2). */
    static final boolean WIDE_REGISTER_FILE = F.vectorBitSize() >= 512;
    static final int CHAINS = WIDE_REGISTER_FILE ? 24 : 12;
    private static final int STEPS = 4096;

    /** x -> 0.999x + 0.001 neither overflows nor goes subnormal. Not final: see the class comment. */
    public float multiplier = 0.999f;
    public float addend = 0.001f;

    @Benchmark
    @OperationsPerInvocation(STEPS)
    public float fmaChains() {
        return chains(multiplier, addend);
    }

    private static float twelveChains(float multiplier, float addend) {
        FloatVector a = FloatVector.broadcast(F, multiplier);
        FloatVector b = FloatVector.broadcast(F, addend);
        FloatVector c0 = a.mul(0.1f), c1 = a.mul(0.2f), c2 = a.mul(0.3f), c3 = a.mul(0.4f);
        FloatVector c4 = a.mul(0.5f), c5 = a.mul(0.6f), c6 = a.mul(0.7f), c7 = a.mul(0.8f);
        FloatVector c8 = a.mul(0.9f), c9 = a.mul(1.0f), c10 = a.mul(1.1f), c11 = a.mul(1.2f);
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
                .reduceLanes(VectorOperators.ADD);
    }

    private static float twentyFourChains(float multiplier, float addend) {
        FloatVector a = FloatVector.broadcast(F, multiplier);
        FloatVector b = FloatVector.broadcast(F, addend);
        FloatVector c0 = a.mul(0.1f), c1 = a.mul(0.2f), c2 = a.mul(0.3f), c3 = a.mul(0.4f);
        FloatVector c4 = a.mul(0.5f), c5 = a.mul(0.6f), c6 = a.mul(0.7f), c7 = a.mul(0.8f);
        FloatVector c8 = a.mul(0.9f), c9 = a.mul(1.0f), c10 = a.mul(1.1f), c11 = a.mul(1.2f);
        FloatVector d0 = a.mul(1.3f), d1 = a.mul(1.4f), d2 = a.mul(1.5f), d3 = a.mul(1.6f);
        FloatVector d4 = a.mul(1.7f), d5 = a.mul(1.8f), d6 = a.mul(1.9f), d7 = a.mul(2.0f);
        FloatVector d8 = a.mul(2.1f), d9 = a.mul(2.2f), d10 = a.mul(2.3f), d11 = a.mul(2.4f);
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
            d0 = d0.fma(a, b);
            d1 = d1.fma(a, b);
            d2 = d2.fma(a, b);
            d3 = d3.fma(a, b);
            d4 = d4.fma(a, b);
            d5 = d5.fma(a, b);
            d6 = d6.fma(a, b);
            d7 = d7.fma(a, b);
            d8 = d8.fma(a, b);
            d9 = d9.fma(a, b);
            d10 = d10.fma(a, b);
            d11 = d11.fma(a, b);
        }
        FloatVector c = c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11);
        FloatVector d = d0.add(d1).add(d2).add(d3).add(d4).add(d5).add(d6).add(d7).add(d8).add(d9).add(d10).add(d11);
        return c.add(d).reduceLanes(VectorOperators.ADD);
    }

    /** Flops per benchmark operation on this machine. */
    static int flopsPerOperation() {
        return 2 * F.length() * CHAINS;
    }

    /**
     * The benchmark's work outside JMH (the side-by-side's probe of the machine's moment-to-moment
     * speed): {@link #FLOPS_PER_CALL} flops. Pass the operands from non-final fields, as the
     * benchmark does, or C2 may fold them and run at half rate.
     */
    public static float chains(float multiplier, float addend) {
        return WIDE_REGISTER_FILE ? twentyFourChains(multiplier, addend) : twelveChains(multiplier, addend);
    }

    /** Flops of one {@link #chains} call. */
    public static final long FLOPS_PER_CALL = (long) 2 * F.length() * CHAINS * STEPS;
}
