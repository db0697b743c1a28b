package dev.longbow.cuda;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** How failures read: the function, the CUresult's name and text, and what the caller can do. */
class CudaErrorsTest {

    @Test
    void successPassesAndFailuresCarryFunctionNameAndCode() {
        assertDoesNotThrow(() -> CudaException.check("cuInit", 0));
        var e = assertThrows(CudaException.class, () -> CudaException.check("cuMemAlloc_v2", 2));
        assertEquals("cuMemAlloc_v2", e.function());
        assertEquals(2, e.code());
        assertTrue(e.getMessage().startsWith("cuMemAlloc_v2 failed: " + e.errorName() + " (" + e.errorString() + ")"), e.getMessage());
    }

    @Test
    void withoutADriverEveryCallSaysWhereItLooked() {
        boolean driverHere;
        try {
            CudaDriver.LIBRARY.locate();
            driverHere = true;
        } catch (NativeLibraryException absent) {
            driverHere = false;
        }
        assumeFalse(driverHere, "this machine has a CUDA driver");
        var e = assertThrows(NativeLibraryException.class, Cuda::init);
        assertTrue(e.getMessage().startsWith("CUDA driver not found (looked in "), e.getMessage());
        assertThrows(NativeLibraryException.class, () -> Stream.create("compute"));
        assertEquals(e.getMessage(), Cuda.unavailableReason());
    }

    @Test
    void anInvalidContextSaysWhichCallIsMissing() {
        var e = CudaException.of("cuMemAlloc_v2", 201, "");
        assertTrue(e.getMessage().contains("Context.makeCurrent()"), e.getMessage());
    }

    @Test
    void outOfMemoryReportsWhatWasAskedAndWhatWasFree() {
        var e = new OutOfDeviceMemoryException(3L << 30, new MemoryInfo(1L << 30, 80L << 30));
        System.out.println(e.getMessage());
        assertEquals(3L << 30, e.requested());
        assertTrue(e.getMessage().contains("CUDA_ERROR_OUT_OF_MEMORY"), e.getMessage());
        assertTrue(e.getMessage().contains("asked for 3221225472 bytes (3.00 GiB) with 1073741824 bytes (1.00 GiB) free of 80.00 GiB"),
                e.getMessage());
    }

    @Test
    void copiesOfDifferentSizesAreRejectedBeforeReachingTheDriver() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> DeviceMemory.hostToDevice(MemorySegment.ofArray(new byte[8]), MemorySegment.ofArray(new byte[12]), null));
        assertEquals("copy of 8 bytes into 12 bytes: sizes must match", e.getMessage());
    }

    @Test
    void launchDimensionsMustBePositive() {
        var e = assertThrows(IllegalArgumentException.class, () -> Dim3.of(4, 0));
        assertEquals("launch dimensions must be positive, got (4, 0, 1)", e.getMessage());
        assertEquals(Dim3.of(4), Dim3.cover(1000, 256));
    }

    @Test
    void uuidsReadAsNvidiaSmiPrintsThem() {
        byte[] bytes = new byte[16];
        for (int i = 0; i < 16; i++) {
            bytes[i] = (byte) (0xa0 + i);
        }
        assertEquals("GPU-a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf", Cuda.uuidString(bytes));
    }
}
