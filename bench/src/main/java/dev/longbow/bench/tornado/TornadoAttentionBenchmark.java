package dev.longbow.bench.tornado;

import dev.longbow.backend.AttentionParams;
import dev.longbow.backend.Backend;
import dev.longbow.backend.BackendChoice;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.HostAllocation;
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
 * Flash attention forward, causal, B = 1, H = 8, D = 64, fp32, on the backend named by
 * {@code backend}: the TornadoVM kernels (on whatever device TornadoVM's default backend has,
 * PoCL on a CPU-only machine) beside the CPU backend, in one JVM launched with the TornadoVM
 * argfile (forks inherit its flags). A tornado forward returns when the kernel has finished.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 5)
public class TornadoAttentionBenchmark {
    static final int HEADS = 8;
    static final int HEAD_DIM = 64;

    @Param({"cpu", "tornado"})
    public String backend;

    @Param({"1024", "2048"})
    public int seqLen;

    private Backend device;
    private Slab slab;
    private AttentionParams params;

    @Setup
    public void setUp() {
        device = BackendChoice.named(backend).open(0);
        params = AttentionParams.of(HEAD_DIM, true);
        Slab.Builder b = Slab.builder();
        for (String name : new String[] {"q", "k", "v", "out"}) {
            b.add(name, DType.F32, seqLen, HEADS, HEAD_DIM);
        }
        slab = b.add("lse", DType.F32, seqLen, HEADS).allocate(device::allocate);
        SplittableRandom random = new SplittableRandom(42);
        for (String name : new String[] {"q", "k", "v"}) {
            Tensor t = slab.get(name);
            try (HostAllocation staging = new HostAllocation(t.byteSize())) {
                Tensor host = HostAllocation.tensor(staging, DType.F32, t.shape().toArray());
                for (long i = 0; i < host.numel(); i++) {
                    host.setFloat(i, (float) (random.nextDouble() * 2 - 1));
                }
                device.tensors().copy(host, t);
            }
        }
        device.synchronize();
    }

    @TearDown
    public void tearDown() {
        slab.close();
        device.close();
    }

    @Benchmark
    public void forward() {
        device.attention().forward(slab.get("q"), slab.get("k"), slab.get("v"), slab.get("out"), slab.get("lse"), params);
    }

    /** Causal forward FLOPs, counted the FlashAttention way: {@code 2 * H * S^2 * D}. */
    static double flops(int seqLen) {
        return 2.0 * HEADS * seqLen * (double) seqLen * HEAD_DIM;
    }
}
