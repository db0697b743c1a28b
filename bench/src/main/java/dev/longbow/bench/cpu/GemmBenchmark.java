package dev.longbow.bench.cpu;

import dev.longbow.backend.Backend;
import dev.longbow.backend.Backends;
import dev.longbow.backend.ModelOps;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.Arena;
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
 * The model's matrix products, Longbow's GEMM ({@code ModelOps.matmul}) beside OpenBLAS
 * {@code cblas_sgemm} on the same buffers, in one JMH run. Shapes are a training step's of the
 * tiny and small presets (r50k vocabulary, logits 256 rows a chunk, sequence 4096), named
 * {@code model:product}, with M x N x K and the transposes as {@code ModelOps.matmul} gets them:
 * the head's logits, its two gradients, an MLP projection, its weight gradient and its input
 * gradient. Longbow uses {@code -Dlongbow.cpu.threads} threads (default: all), OpenBLAS as many.
 *
 * <pre>
 * OPENBLAS_CORETYPE=SkylakeX java --add-modules jdk.incubator.vector -jar bench/target/benchmarks.jar GemmBenchmark
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector", "-Xmx8g"})
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 4)
public class GemmBenchmark {
    /** {@code name:M:N:K:transA:transB}. */
    @Param({"tiny-head-logits:256:50257:64:n:t", "tiny-head-dx:256:64:50257:n:n", "tiny-head-dW:50257:64:256:t:n",
            "tiny-mlp-up:4096:192:64:n:t", "tiny-mlp-dW:192:64:4096:t:n", "tiny-mlp-dx:4096:64:192:n:n",
            "small-head-logits:256:50257:128:n:t", "small-mlp-up:4096:352:128:n:t", "small-mlp-dW:352:128:4096:t:n"})
    public String shape;

    @Param({"longbow", "openblas"})
    public String impl;

    private int m;
    private int n;
    private int k;
    private boolean transA;
    private boolean transB;
    private Backend cpu;
    private ModelOps ops;
    private Slab slab;
    private Arena arena;
    private OpenBlas blas;

    @Setup
    public void setUp() {
        String[] f = shape.split(":");
        m = Integer.parseInt(f[1]);
        n = Integer.parseInt(f[2]);
        k = Integer.parseInt(f[3]);
        transA = f[4].equals("t");
        transB = f[5].equals("t");
        cpu = Backends.open("cpu", 0);
        ops = cpu.model();
        slab = Slab.builder().add("a", DType.F32, transA ? k : m, transA ? m : k).add("b", DType.F32, transB ? n : k, transB ? k : n)
                .add("c", DType.F32, m, n).allocate(cpu::allocate);
        SplittableRandom random = new SplittableRandom(5);
        for (String name : new String[] {"a", "b"}) {
            Tensor t = slab.get(name);
            for (long i = 0; i < t.numel(); i++) {
                t.setFloat(i, (float) (random.nextDouble() * 2 - 1));
            }
        }
        if (impl.equals("openblas")) {
            arena = Arena.ofShared();
            blas = new OpenBlas(arena);
            blas.threads(Integer.getInteger("longbow.cpu.threads", Runtime.getRuntime().availableProcessors()));
        }
    }

    @TearDown
    public void tearDown() {
        slab.close();
        cpu.close();
        if (arena != null) {
            arena.close();
        }
    }

    /** C = op(A) op(B), beta 0, as the model's forward products run. */
    @Benchmark
    public void multiply() {
        if (blas != null) {
            blas.sgemm(transA, transB, m, n, k, 1f, slab.get("a").data(), slab.get("b").data(), 0f, slab.get("c").data());
        } else {
            ops.matmul(slab.get("a"), transA, slab.get("b"), transB, slab.get("c"), 1f, 0f);
        }
    }

    static double flops(String shape) {
        String[] f = shape.split(":");
        return 2.0 * Long.parseLong(f[1]) * Long.parseLong(f[2]) * Long.parseLong(f[3]);
    }
}
