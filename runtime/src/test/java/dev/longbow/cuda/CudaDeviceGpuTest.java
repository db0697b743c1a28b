package dev.longbow.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Device query and device memory: allocation, copies through pinned and heap memory, fills. */
@Tag("gpu")
class CudaDeviceGpuTest {
    private static Context context;
    private static Stream stream;

    @BeforeAll
    static void open() {
        context = GpuTestSupport.currentContext();
        stream = Stream.create("test");
    }

    @AfterAll
    static void close() throws Exception {
        GpuTestSupport.closeAll(stream, context);
    }

    @Test
    void deviceQueryReportsAPlausibleGpu() {
        assertTrue(Cuda.deviceCount() >= 1);
        DeviceProperties gpu = Cuda.device(0);
        assertTrue(!gpu.name().isBlank(), gpu.toString());
        assertTrue(gpu.computeMajor() >= 8, "the test PTX targets sm_80 and newer; this is " + gpu.smArch());
        assertTrue(gpu.multiprocessors() > 0 && gpu.warpSize() == 32, gpu.toString());
        assertTrue(gpu.totalMemory() > (1L << 30), gpu.toString());
        assertTrue(gpu.maxSharedMemoryPerBlockOptin() >= gpu.maxSharedMemoryPerBlock(), gpu.toString());
        assertTrue(gpu.uuid().matches("GPU-\\p{XDigit}{8}(-\\p{XDigit}{4}){3}-\\p{XDigit}{12}"), gpu.uuid());
        MemoryInfo memory = context.memoryInfo();
        System.out.println(gpu + "; " + memory);
        assertTrue(memory.total() > 0 && memory.total() <= gpu.totalMemory(), memory + " of " + gpu.totalMemory() + " bytes");
        assertTrue(memory.free() > 0 && memory.free() <= memory.total(), memory.toString());
        assertTrue(Cuda.driverVersion() >= 12000, "driver CUDA version " + Cuda.driverVersion());
        var e = assertThrows(IllegalArgumentException.class, () -> Cuda.device(Cuda.deviceCount()));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    }

    @Test
    void pinnedMemoryRoundTripsThroughTheDeviceByDma() {
        long bytes = 4L * ((1 << 22) + 5);
        try (PinnedBuffer source = PinnedBuffer.allocate(bytes);
             PinnedBuffer target = PinnedBuffer.allocate(bytes);
             DeviceBuffer first = DeviceBuffer.allocate(bytes);
             DeviceBuffer second = DeviceBuffer.allocate(bytes)) {
            assertEquals(bytes, source.segment().byteSize());
            assertTrue(source.segment().isNative());
            GpuTestSupport.fillRandom(source.segment(), 20240501L, "pinned round trip"); // written in place: zero-copy
            first.copyFromHost(source.segment(), stream);
            DeviceMemory.deviceToDevice(first.segment(), second.segment(), stream);
            second.copyToHost(target.segment(), stream);
            stream.synchronize();
            assertEquals(-1L, source.segment().mismatch(target.segment()), "first differing byte");
        }
    }

    @Test
    void heapArraysAreStagedBothWays() {
        float[] values = new float[1000];
        for (int i = 0; i < values.length; i++) {
            values[i] = i * 0.25f - 7;
        }
        float[] back = new float[values.length];
        try (DeviceBuffer buffer = DeviceBuffer.allocate(4L * values.length)) {
            buffer.copyFromHost(MemorySegment.ofArray(values), stream);
            buffer.copyToHost(MemorySegment.ofArray(back), stream);
            stream.synchronize();
        }
        assertEquals(-1, java.util.Arrays.mismatch(values, back));
    }

    @Test
    void fillsSetBytesAndWords() {
        int n = 4099;
        try (DeviceBuffer buffer = DeviceBuffer.allocate(4L * n); PinnedBuffer host = PinnedBuffer.allocate(4L * n)) {
            DeviceMemory.fill(buffer.segment(), Float.floatToIntBits(1.5f), stream);
            DeviceMemory.fill(buffer.segment().asSlice(0, 8), (byte) 0, stream);
            buffer.copyToHost(host.segment(), stream);
            stream.synchronize();
            assertEquals(0f, host.segment().getAtIndex(ValueLayout.JAVA_FLOAT, 1));
            for (int i = 2; i < n; i++) {
                assertEquals(1.5f, host.segment().getAtIndex(ValueLayout.JAVA_FLOAT, i), "element " + i);
            }
        }
    }

    @Test
    void outOfMemorySaysWhatWasAskedAndWhatWasFree() {
        long tooMuch = context.memoryInfo().total() * 2;
        var e = assertThrows(OutOfDeviceMemoryException.class, () -> DeviceBuffer.allocate(tooMuch));
        System.out.println(e.getMessage());
        assertEquals(tooMuch, e.requested());
        assertTrue(e.getMessage().contains("asked for " + tooMuch + " bytes"), e.getMessage());
    }

    @Test
    void aClosedBufferCannotBeCopied() {
        DeviceBuffer buffer = DeviceBuffer.allocate(64);
        MemorySegment view = buffer.segment().asSlice(16, 16);
        buffer.close();
        var e = assertThrows(IllegalStateException.class, () -> DeviceMemory.fill(view, (byte) 1, stream));
        assertTrue(e.getMessage().contains("was freed"), e.getMessage());
    }
}
