package dev.longbow.kernels;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.longbow.backend.Backend;
import dev.longbow.backend.Backends;
import dev.longbow.cuda.Cuda;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A backend is one rank's, but any thread may drive it: every op makes its context current
 * first. A thread with no current context that calls cuBLAS gets device 0's context from the
 * CUDA runtime, so a backend on another device would launch into the wrong one.
 */
@Tag("gpu")
class CudaThreadsGpuTest {

    @Test
    void aMatmulOnAnotherGpuWorksFromAThreadWithoutAContext() throws Exception {
        assumeTrue(Cuda.deviceCount() > 1, "needs a second GPU (the stand-in has four)");
        try (Backend gpu1 = Backends.open(BackendChoice.CUDA, 1); DeviceTensors dev = new DeviceTensors(gpu1)) {
            int m = 48, n = 40, k = 72;
            Tensor a = dev.upload(dev.host().filled(DType.F32, 1f, m, k));
            Tensor b = dev.upload(dev.host().filled(DType.F32, 2f, k, n));
            Tensor c = dev.poisoned(DType.F32, m, n);
            CompletableFuture.runAsync(() -> gpu1.model().matmul(a, false, b, false, c, 1f, 0f)).get();
            double[] expected = new double[m * n];
            Arrays.fill(expected, 2.0 * k);
            Compare.exact("matmul on GPU 1 from a thread without a context", dev.download(c), expected);
        }
    }
}
