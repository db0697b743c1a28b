package dev.longbow.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.longbow.backend.Pending;
import dev.longbow.tensor.Allocation;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Tensor;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The backend's streams, events and memory: what the op tests take for granted. */
class CudaBackendGpuTest extends GpuTest {
    /** Big enough that a fill takes long compared to issuing the next call: a missing order shows. */
    private static final long N = 64L << 20;

    @Test
    void copyAsyncSeesEarlierComputeAndLaterComputeSeesTheCopy() {
        Tensor x = dev.poisoned(DType.F32, N);
        Tensor y = dev.poisoned(DType.F32, N);
        for (int round = 1; round <= 3; round++) {
            backend.tensors().fill(x, round);
            Pending copied = backend.copyAsync(x, y);
            copied.await();
            backend.tensors().scale(y, 2);
            double[] values = dev.download(y);
            assertEquals(2.0 * round, values[0]);
            assertEquals(2.0 * round, values[values.length - 1]);
        }
    }

    @Test
    void offloadToPinnedHostMemoryAndBack() {
        try (Allocation pinned = backend.allocateHost(N * 2)) {
            Tensor host = new Tensor(pinned.segment(), DType.BF16, Shape.of(N), pinned.placement());
            Tensor x = randomDevice(DType.BF16, N);
            double[] before = dev.download(x);
            Pending out = backend.copyAsync(x, host);
            out.await();
            backend.tensors().fill(x, 0);  // ordered after the offload by the await
            Pending back = backend.copyAsync(host, x);
            back.await();
            Compare.exact("round trip through pinned memory", dev.download(x), before);
        }
    }

    @Test
    void workspaceGrowthKeepsEarlierResults() {
        for (long n : new long[] {1000, 40_000_000, 1000}) {
            Tensor t = dev.host().filled(DType.F32, 0.5f, n);
            assertEquals(0.25 * n, backend.tensors().sumOfSquares(dev.upload(t)), 1e-9 * n, "n=" + n);
        }
    }

    @Test
    void anotherThreadMayDriveTheBackend() throws Exception {
        Tensor x = dev.poisoned(DType.F32, 1000);
        CompletableFuture.runAsync(() -> backend.tensors().fill(x, 7)).get();
        double[] expected = new double[1000];
        Arrays.fill(expected, 7);
        Compare.exact("fill from another thread", dev.download(x), expected);
    }
}
