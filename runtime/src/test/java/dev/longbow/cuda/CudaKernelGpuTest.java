package dev.longbow.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** PTX loading (JIT for this GPU) and launches, checked against float64 arithmetic on the host. */
@Tag("gpu")
class CudaKernelGpuTest {
    private static Context context;
    private static Stream stream;
    private static CudaModule module;

    @BeforeAll
    static void open() {
        context = GpuTestSupport.currentContext();
        stream = Stream.create("kernels");
        module = CudaModule.loadResource(CudaKernelGpuTest.class, "saxpy.ptx"); // PTX for compute_80, JIT-compiled here
    }

    @AfterAll
    static void close() throws Exception {
        GpuTestSupport.closeAll(module, stream, context);
    }

    @Test
    void saxpyMatchesFloat64() {
        checkSaxpy((1 << 20) + 3, 0, 20240502L);
    }

    /** 64 KiB of dynamic shared memory is above the default 48 KiB: the launch must opt in first. */
    @Test
    void launchesAboveFortyEightKibOfSharedMemoryOptIn() {
        int bytes = 64 * 1024;
        int limit = Cuda.device(0).maxSharedMemoryPerBlockOptin();
        assertTrue(limit >= bytes, "device allows " + limit + " bytes per block");
        checkSaxpy(4096, bytes, 20240503L);
        var e = assertThrows(CudaException.class, () -> module.kernel("saxpy").setMaxDynamicSharedMemory(limit + 1024));
        assertEquals("cuFuncSetAttribute", e.function());
    }

    private static void checkSaxpy(int n, int sharedBytes, long seed) {
        float a = 1.75f;
        long bytes = 4L * n;
        try (PinnedBuffer x = PinnedBuffer.allocate(bytes); PinnedBuffer y = PinnedBuffer.allocate(bytes);
             DeviceBuffer dy = DeviceBuffer.allocate(bytes)) {
            GpuTestSupport.fillRandom(x.segment(), seed, "saxpy x");
            GpuTestSupport.fillRandom(y.segment(), seed + 1, "saxpy y");
            double[] expected = new double[n];
            for (int i = 0; i < n; i++) {
                expected[i] = (double) a * x.segment().getAtIndex(ValueLayout.JAVA_FLOAT, i) + y.segment().getAtIndex(ValueLayout.JAVA_FLOAT, i);
            }
            dy.copyFromHost(y.segment(), stream);
            // x stays in pinned host memory: the kernel reads it in place through unified addressing.
            module.kernel("saxpy").launch(stream, Dim3.cover(n, 256), Dim3.of(256), sharedBytes,
                    KernelArgs.of().f32(a).pointer(x.segment()).pointer(dy.segment()).i64(n));
            dy.copyToHost(y.segment(), stream);
            stream.synchronize();
            for (int i = 0; i < n; i++) {
                float got = y.segment().getAtIndex(ValueLayout.JAVA_FLOAT, i);
                assertTrue(Math.abs(got - expected[i]) <= 1e-6 * Math.abs(expected[i]) + 1e-7,
                        "y[" + i + "] = " + got + ", float64 says " + expected[i]);
            }
        }
    }

    @Test
    void everyArgumentKindArrivesIntact() {
        try (DeviceBuffer out = DeviceBuffer.allocate(4 * 8); DeviceBuffer pointee = DeviceBuffer.allocate(256);
             PinnedBuffer host = PinnedBuffer.allocate(4 * 8)) {
            module.kernel("echo_args").launch(stream, Dim3.of(1), Dim3.of(1), 0,
                    KernelArgs.of().i32(-123456).i64(0x1234_5678_9abcL).f32(-0.1f).pointer(pointee.segment()).pointer(out.segment()));
            out.copyToHost(host.segment(), stream);
            stream.synchronize();
            MemorySegment echoed = host.segment();
            assertEquals(-123456L, echoed.getAtIndex(ValueLayout.JAVA_LONG, 0));
            assertEquals(0x1234_5678_9abcL, echoed.getAtIndex(ValueLayout.JAVA_LONG, 1));
            assertEquals(Float.floatToIntBits(-0.1f), echoed.getAtIndex(ValueLayout.JAVA_LONG, 2));
            assertEquals(pointee.segment().address(), echoed.getAtIndex(ValueLayout.JAVA_LONG, 3));
        }
    }

    @Test
    void kernelAttributesAndLimits() {
        Kernel saxpy = module.kernel("saxpy");
        System.out.println(saxpy + ": " + saxpy.registersPerThread() + " registers/thread, max " + saxpy.maxThreadsPerBlock()
                + " threads/block, " + saxpy.staticSharedBytes() + " B static shared");
        assertTrue(saxpy.registersPerThread() > 0 && saxpy.maxThreadsPerBlock() >= 256);
        var tooBig = assertThrows(IllegalArgumentException.class,
                () -> saxpy.launch(stream, Dim3.of(1), Dim3.of(2048), 0, KernelArgs.of()));
        assertTrue(tooBig.getMessage().contains("2048 threads"), tooBig.getMessage());
        var missing = assertThrows(CudaException.class, () -> module.kernel("saxpy_v2"));
        assertTrue(missing.getMessage().contains("extern \"C\""), missing.getMessage());
    }

    @Test
    void aJitFailureCarriesTheCompilerLog() {
        byte[] broken = """
                .version 7.0
                .target sm_80
                .address_size 64
                .visible .entry broken() { not_an_instruction; }
                """.getBytes(StandardCharsets.US_ASCII);
        var e = assertThrows(CudaException.class, () -> CudaModule.load("broken.ptx", broken));
        System.out.println(e.getMessage());
        assertEquals("cuModuleLoadDataEx", e.function());
        assertTrue(e.getMessage().contains("broken.ptx, JIT error log:"), e.getMessage());
        assertTrue(e.getMessage().contains("not_an_instruction") || e.getMessage().contains("line 4"), "the log names the bad line: " + e.getMessage());
    }
}
