package dev.longbow.kernels;

import dev.longbow.backend.BackendChoice;
import dev.longbow.backend.AttentionParams;
import dev.longbow.backend.Backends;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.HostAllocation;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Flash attention through the Java CUDA backend at the sizes of bench/gpu/RESULTS.md (B=1, H=16,
 * D=128, bf16, causal): what a Longbow user gets, launch path included, to set beside the
 * kernels' own numbers measured from Python against PyTorch. CUDA events on the compute stream,
 * median of RUNS after WARMUP; causal forward FLOPs 2*S*S*D*H, backward 2.5x that.
 *
 * <pre>gpu-bundle/run-java.sh dev.longbow.kernels.FlashBench [S ...]</pre>
 */
public final class FlashBench {
    private static final int WARMUP = 3;
    private static final int HEADS = 16;
    private static final int HEAD_DIM = 128;

    private FlashBench() {
    }

    public static void main(String[] args) {
        long[] lengths = args.length > 0 ? Arrays.stream(args).mapToLong(Long::parseLong).toArray() : new long[] {4096, 16384, 65536};
        try (CudaBackend gpu = (CudaBackend) Backends.open(BackendChoice.CUDA, 0)) {
            System.out.println("| S | fwd ms | fwd TFLOP/s | bwd ms | bwd TFLOP/s |");
            System.out.println("|---:|---:|---:|---:|---:|");
            for (long s : lengths) {
                run(gpu, s);
            }
        }
    }

    private static void run(CudaBackend gpu, long s) {
        int runs = s <= 4096 ? 50 : s <= 16384 ? 20 : 10;
        try (Slab t = Slab.builder()
                .add("q", DType.BF16, s, HEADS, HEAD_DIM)
                .add("k", DType.BF16, s, HEADS, HEAD_DIM)
                .add("v", DType.BF16, s, HEADS, HEAD_DIM)
                .add("dout", DType.BF16, s, HEADS, HEAD_DIM)
                .add("out", DType.BF16, s, HEADS, HEAD_DIM)
                .add("lse", DType.F32, s, HEADS)
                .add("dq", DType.F32, s, HEADS, HEAD_DIM)
                .add("dk", DType.F32, s, HEADS, HEAD_DIM)
                .add("dv", DType.F32, s, HEADS, HEAD_DIM)
                .allocate(gpu::allocate)) {
            for (String name : new String[] {"q", "k", "v", "dout"}) {
                randomize(gpu, t.get(name), name.hashCode());
            }
            AttentionParams causal = AttentionParams.of(HEAD_DIM, true);
            double fwd = EventTiming.medianMillis(gpu.computeStream(), WARMUP, runs, () -> gpu.attention().forward(t.get("q"), t.get("k"), t.get("v"), t.get("out"), t.get("lse"), causal));
            double bwd = EventTiming.medianMillis(gpu.computeStream(), WARMUP, runs, () -> gpu.attention().backward(t.get("q"), t.get("k"), t.get("v"), t.get("out"), t.get("lse"),
                    t.get("dout"), t.get("dq"), t.get("dk"), t.get("dv"), causal));
            double flops = 2.0 * s * s * HEAD_DIM * HEADS;
            System.out.printf("| %d | %.3f | %.1f | %.3f | %.1f |%n", s, fwd, flops / fwd / 1e9, bwd, 2.5 * flops / bwd / 1e9);
        }
    }

    /** Never time on zeros: uniform values in [-1, 1) staged through the host. */
    private static void randomize(CudaBackend gpu, Tensor device, long seed) {
        try (HostAllocation host = new HostAllocation(device.byteSize())) {
            Tensor staged = new Tensor(host.segment(), device.dtype(), device.shape(), host.placement());
            SplittableRandom random = new SplittableRandom(seed);
            for (long i = 0; i < staged.numel(); i++) {
                staged.setFloat(i, (float) (2 * random.nextDouble() - 1));
            }
            gpu.tensors().copy(staged, device);
            gpu.synchronize();
        }
    }
}
