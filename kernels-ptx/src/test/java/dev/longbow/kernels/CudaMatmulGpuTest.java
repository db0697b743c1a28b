package dev.longbow.kernels;

import dev.longbow.backend.ModelOps;
import dev.longbow.cuda.NativeLibraryException;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * ModelOps.matmul on the GPU against a float64 product: every transpose combination, edges that
 * cut the 128x128 tiles, K not a multiple of the 16-byte chunks (the unaligned load path),
 * beta = 0 over a NaN-poisoned C (C must not be read) and beta != 0. Both engines: gemm.cu's
 * kernels always, cuBLAS where libcublas loads.
 */
class CudaMatmulGpuTest extends GpuTest {
    private final Map<String, ModelOps> engines = new LinkedHashMap<>();
    private CublasMatmul cublas;

    @BeforeEach
    void engines() {
        CudaBackend cuda = (CudaBackend) backend;
        engines.put("gemm.cu", new CudaModelOps(cuda, null));
        try {
            cublas = CublasMatmul.open(cuda.context(), cuda.computeStream());
            engines.put("cuBLAS", new CudaModelOps(cuda, cublas));
        } catch (NativeLibraryException e) {
            System.out.println("CudaMatmulGpuTest: cuBLAS path not tested here: " + e.getMessage());
        }
    }

    @AfterEach
    void closeCublas() {
        if (cublas != null) {
            backend.synchronize();
            cublas.close();
        }
    }

    @Test
    void f32IsAccurateToFp32() {
        for (int layout = 0; layout < 4; layout++) {
            check(DType.F32, DType.F32, (layout & 2) != 0, (layout & 1) != 0, 129, 67, 100, 0f);
            check(DType.F32, DType.F32, (layout & 2) != 0, (layout & 1) != 0, 256, 384, 257, 0.5f);
        }
        check(DType.F32, DType.F32, false, true, 70, 50, 37, 1f);
    }

    @Test
    void bf16AccumulatesInFp32() {
        for (int layout = 0; layout < 4; layout++) {
            boolean ta = (layout & 2) != 0;
            boolean tb = (layout & 1) != 0;
            check(DType.BF16, DType.F32, ta, tb, 129, 136, 96, 0f);
            check(DType.BF16, DType.BF16, ta, tb, 300, 72, 512, -1f);
            check(DType.BF16, DType.F32, ta, tb, 33, 41, 37, 0.25f);
        }
    }

    private void check(DType in, DType out, boolean transA, boolean transB, int m, int n, int k, float beta) {
        engines.forEach((engine, ops) -> check(engine, ops, in, out, transA, transB, m, n, k, beta));
    }

    private void check(String engine, ModelOps ops, DType in, DType out, boolean transA, boolean transB, int m, int n, int k, float beta) {
        Tensor a = transA ? randomHost(in, k, m) : randomHost(in, m, k);
        Tensor b = transB ? randomHost(in, n, k) : randomHost(in, k, n);
        Tensor c0 = randomHost(out, m, n);
        Tensor c = beta == 0 ? dev.poisoned(out, m, n) : dev.upload(c0);
        float alpha = 0.75f;
        ops.matmul(dev.upload(a), transA, dev.upload(b), transB, c, alpha, beta);

        double[] av = values(a);
        double[] bv = values(b);
        double[] cv = values(c0);
        double[] expected = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    s += av[transA ? p * m + i : i * k + p] * bv[transB ? j * k + p : p * n + j];
                }
                expected[i * n + j] = alpha * s + (beta == 0 ? 0 : beta * cv[i * n + j]);
            }
        }
        Compare.close(engine + " " + in + "->" + out + " " + (transA ? "t" : "n") + (transB ? "t" : "n") + " " + m + "x" + n + "x" + k
                + " beta " + beta, dev.download(c), expected, Compare.tolerance(out));
    }
}
