package dev.longbow.nccl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.abort;

import dev.longbow.bindings.nccl.ncclUniqueId;
import dev.longbow.cuda.NativeLibraryException;
import dev.longbow.tensor.DType;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * What needs no GPU: the enum values against NCCL's documented ones, the unique id's wire form,
 * and, where libnccl.so.2 is installed (an nvidia-nccl wheel, or LONGBOW_NCCL_LIBRARY), the
 * library calls that work without a device.
 */
class NcclWithoutGpuTest {

    @Test
    void dataTypesAreNcclsDocumentedValues() {
        // ncclDataType_t in NCCL's API documentation: ncclInt32 = 2, ncclFloat16 = 6, ncclFloat32 = 7, ncclBfloat16 = 9.
        assertEquals(7, NcclDataTypes.of(DType.F32));
        assertEquals(9, NcclDataTypes.of(DType.BF16));
        assertEquals(6, NcclDataTypes.of(DType.F16));
        assertEquals(2, NcclDataTypes.of(DType.I32));
        assertEquals(0, NcclOp.SUM.code());
        assertEquals(4, NcclOp.AVG.code());
    }

    @Test
    void resultsAreNamedAsInNcclH() {
        assertEquals("ncclSuccess", NcclException.name(0));
        assertEquals("ncclUnhandledCudaError", NcclException.name(1));
        assertEquals("ncclInvalidUsage", NcclException.name(5));
        assertEquals("ncclRemoteError", NcclException.name(6));
        assertEquals("ncclResult_t 42", NcclException.name(42));
        var e = new NcclException("ncclAllReduce", 4, "NCCL says: count 0");
        assertTrue(e.getMessage().startsWith("ncclAllReduce failed: ncclInvalidArgument ("), e.getMessage());
        assertTrue(e.getMessage().endsWith("; NCCL says: count 0"), e.getMessage());
    }

    @Test
    void uniqueIdsTravelAsTheir128Bytes() {
        assertEquals(128, ncclUniqueId.layout().byteSize(), "NCCL_UNIQUE_ID_BYTES is 128");
        byte[] bytes = new byte[128];
        IntStream.range(0, 128).forEach(i -> bytes[i] = (byte) (i * 7));
        NcclUniqueId id = NcclUniqueId.fromBytes(bytes);
        assertArrayEquals(bytes, id.toBytes());
        assertEquals(id, NcclUniqueId.fromBytes(id.toBytes()));
        var e = assertThrows(IllegalArgumentException.class, () -> NcclUniqueId.fromBytes(new byte[64]));
        assertEquals("an NCCL unique id is 128 bytes, got 64", e.getMessage());
    }

    @Test
    void theInstalledLibraryAnswersWithoutAGpu() {
        try {
            NcclLibrary.LIBRARY.locate();
        } catch (NativeLibraryException absent) {
            abort("no NCCL library here (the test runs where one is installed): " + absent.getMessage());
        }
        int version = Nccl.version();
        System.out.println("NCCL " + version + " from " + Nccl.load());
        assertTrue(version >= 21800, "ncclCommSplit needs NCCL 2.18 or newer, found " + version);
        assertFalse(NcclException.description(3).isBlank());
        NcclUniqueId id = NcclUniqueId.create();
        assertFalse(IntStream.range(0, 128).allMatch(i -> id.toBytes()[i] == 0), "a fresh id is not all zeros");
    }
}
