package dev.longbow.kernels;

import dev.longbow.backend.BackendChoice;
import dev.longbow.backend.AdamWStep;
import dev.longbow.backend.Backends;
import dev.longbow.backend.ModelOps;
import dev.longbow.cuda.NativeLibraryException;
import dev.longbow.tensor.Allocation;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Speed of the CUDA backend's own kernels on GPU 0, timed with CUDA events on the compute
 * stream: median of 50 runs after 5 warm-up runs, as TFLOP/s for matmul and GB/s of compulsory
 * traffic (each input read once, each output written once) for the memory-bound ops. Prints a
 * markdown table for the lab notebooks in src/main/cuda. Inputs are uninitialised device memory
 * filled with one value; these kernels' speed does not depend on the values.
 *
 * <pre>gpu-bundle/run-java.sh dev.longbow.kernels.KernelBench</pre>
 */
public final class KernelBench {
    private static final int WARMUP = 5;
    private static final int RUNS = 50;

    private final CudaBackend gpu;
    private final List<Allocation> memory = new ArrayList<>();

    private KernelBench(CudaBackend gpu) {
        this.gpu = gpu;
    }

    public static void main(String[] args) {
        try (CudaBackend gpu = (CudaBackend) Backends.open(BackendChoice.CUDA, 0)) {
            KernelBench bench = new KernelBench(gpu);
            System.out.println("| op | shape | median ms | rate |");
            System.out.println("|---|---|---:|---:|");
            bench.matmuls();
            bench.memoryBound();
            bench.memory.forEach(Allocation::close);
        }
    }

    private void matmuls() {
        List<ModelOps> engines = new ArrayList<>(List.of(new CudaModelOps(gpu, null)));
        CublasMatmul cublas = null;
        try {
            cublas = CublasMatmul.open(gpu.context(), gpu.computeStream());
            engines.add(new CudaModelOps(gpu, cublas));
        } catch (NativeLibraryException e) {
            System.out.println("(cuBLAS not measured: " + e.getMessage() + ")");
        }
        int n = 4096;
        for (ModelOps ops : engines) {
            String engine = ops == engines.getFirst() ? "gemm.cu" : "cuBLAS";
            for (DType in : List.of(DType.BF16, DType.F32)) {
                Tensor a = tensor(in, n, n);
                Tensor b = tensor(in, n, n);
                Tensor c = tensor(in, n, n);
                for (boolean transB : new boolean[] {true, false}) {
                    double ms = EventTiming.medianMillis(gpu.computeStream(), WARMUP, RUNS, () -> ops.matmul(a, false, b, transB, c, 1, 0));
                    row("matmul " + engine + " " + in + (transB ? " nt" : " nn"), a.shape(), ms, 2.0 * n * n * n / ms / 1e9, "TFLOP/s");
                }
            }
        }
        if (cublas != null) {
            gpu.synchronize();
            cublas.close();
        }
    }

    private void memoryBound() {
        long rows = 16384;
        int d = 4096;
        Tensor x = tensor(DType.BF16, rows, d);
        Tensor y = tensor(DType.BF16, rows, d);
        Tensor dy = tensor(DType.BF16, rows, d);
        Tensor dx = tensor(DType.BF16, rows, d);
        Tensor w = tensor(DType.F32, d);
        Tensor dw = tensor(DType.F32, d);
        Tensor rstd = tensor(DType.F32, rows);
        ModelOps ops = gpu.model();
        bandwidth("rmsNormForward bf16", x.shape(), 2 * x.byteSize(), () -> ops.rmsNormForward(x, w, y, rstd, 1e-5f));
        bandwidth("rmsNormBackward bf16", x.shape(), 3 * x.byteSize(), () -> ops.rmsNormBackward(x, w, rstd, dy, dx, dw));
        bandwidth("swigluForward bf16", x.shape(), 3 * x.byteSize(), () -> ops.swigluForward(x, y, dx));
        Tensor dup = tensor(DType.BF16, rows, d);
        bandwidth("swigluBackward bf16", x.shape(), 5 * x.byteSize(), () -> ops.swigluBackward(x, y, dy, dx, dup));
        Tensor qk = x.view(rows, 32, 128);
        Tensor positions = tensor(DType.I32, rows);
        gpu.tensors().fill(positions, 1000);
        bandwidth("rope bf16", qk.shape(), 2 * qk.byteSize(), () -> ops.rope(qk, positions, 500000, false));
        Tensor packed = tensor(DType.BF16, 8, rows, d / 8);
        bandwidth("swapLeadingDims bf16", x.shape(), 2 * x.byteSize(), () -> gpu.tensors().swapLeadingDims(x.view(rows, 8, d / 8), packed));
        Tensor f32 = tensor(DType.F32, rows, d);
        bandwidth("convert f32->bf16", x.shape(), f32.byteSize() + x.byteSize(), () -> gpu.tensors().convert(f32, x));
        bandwidth("sumOfSquares f32", f32.shape(), f32.byteSize(), () -> gpu.tensors().sumOfSquares(f32));
        Tensor m = tensor(DType.F32, rows, d);
        Tensor v = tensor(DType.F32, rows, d);
        gpu.tensors().fill(v, 1);
        AdamWStep step = new AdamWStep(1e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, 10);
        bandwidth("adamw f32 param, bf16 grad", f32.shape(), 6 * f32.byteSize() + x.byteSize(), () -> ops.adamw(f32, x, m, v, step));
        Tensor logits = tensor(DType.BF16, 2048, 128256);
        Tensor targets = tensor(DType.I32, 2048);
        Tensor losses = tensor(DType.F32, 2048);
        gpu.tensors().fill(targets, 7);
        // Each run overwrites the logits with gradients, which the next run takes as logits: the
        // speed does not depend on the values. Two reads and one write of the row.
        bandwidth("crossEntropy bf16", logits.shape(), 3 * logits.byteSize(), () -> ops.crossEntropy(logits, targets, losses, 1f / 2048));
        Tensor out = tensor(DType.F32, rows, 32, 128);
        Tensor lse = tensor(DType.F32, rows, 32);
        Tensor partLse = tensor(DType.F32, rows, 32);
        bandwidth("attention merge bf16 part", out.shape(), 2 * out.byteSize() + qk.byteSize(), () -> gpu.attention().merge(out, lse, qk, partLse));
    }

    private Tensor tensor(DType dtype, long... dims) {
        Shape shape = Shape.of(dims);
        Allocation a = gpu.allocate(shape.numel() * dtype.byteSize());
        memory.add(a);
        Tensor t = new Tensor(a.segment(), dtype, shape, a.placement());
        if (dtype != DType.I32) {
            gpu.tensors().fill(t, 0.01f);
        }
        return t;
    }

    private void bandwidth(String op, Shape shape, long bytes, Runnable work) {
        double ms = EventTiming.medianMillis(gpu.computeStream(), WARMUP, RUNS, work);
        row(op, shape, ms, bytes / ms / 1e6, "GB/s");
    }

    private static void row(String op, Shape shape, double ms, double rate, String unit) {
        System.out.printf("| %s | %s | %.3f | %.1f %s |%n", op, shape, ms, rate, unit);
    }
}
