package dev.longbow.bench.cpu;

import dev.longbow.backend.AttentionOps;
import dev.longbow.backend.AttentionParams;
import dev.longbow.backend.Backend;
import dev.longbow.backend.Backends;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;
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
 * The CPU backend's flash attention, causal, B = 1, H = 8, D = 64 and 128, fp32, all cores (the
 * backend's pool, {@code -Dlongbow.cpu.threads} to change). FLOPs are counted the FlashAttention way: causal forward {@code 2 * H * S^2 * D} (half of
 * the four S x S x D products), backward 2.5 times that.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector", "-Xmx8g"})
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 10)
public class CpuAttentionBenchmark {
    static final int HEADS = 8;

    @Param({"4096", "16384"})
    public int seqLen;

    @Param({"64", "128"})
    public int headDim;

    private Backend cpu;
    private Slab slab;
    private AttentionOps attention;
    private AttentionParams params;

    @Setup
    public void setUp() {
        cpu = Backends.open("cpu", 0);
        attention = cpu.attention();
        params = AttentionParams.of(headDim, true);
        Slab.Builder b = Slab.builder();
        for (String name : new String[] {"q", "k", "v", "out", "dout", "dq", "dk", "dv"}) {
            b.add(name, DType.F32, seqLen, HEADS, headDim);
        }
        slab = b.add("lse", DType.F32, seqLen, HEADS).allocate(cpu::allocate);
        SplittableRandom random = new SplittableRandom(42);
        for (String name : new String[] {"q", "k", "v", "dout"}) {
            Tensor t = slab.get(name);
            for (long i = 0; i < t.numel(); i++) {
                t.setFloat(i, (float) (random.nextDouble() * 2 - 1));
            }
        }
    }

    @TearDown
    public void tearDown() {
        slab.close();
        cpu.close();
    }

    @Benchmark
    public void forward() {
        attention.forward(slab.get("q"), slab.get("k"), slab.get("v"), slab.get("out"), slab.get("lse"), params);
    }

    /** Forward then backward; dq, dk, dv keep accumulating across invocations, as the SPI says. */
    @Benchmark
    public void forwardBackward() {
        forward();
        attention.backward(slab.get("q"), slab.get("k"), slab.get("v"), slab.get("out"), slab.get("lse"), slab.get("dout"),
                slab.get("dq"), slab.get("dk"), slab.get("dv"), params);
    }

    /** FLOPs of one invocation of {@code benchmark} at sequence length {@code seqLen} and head dim {@code headDim}. */
    static double flops(String benchmark, int seqLen, int headDim) {
        double forward = 2.0 * HEADS * seqLen * (double) seqLen * headDim;
        return benchmark.endsWith("forwardBackward") ? 3.5 * forward : forward;
    }
}
