package dev.longbow.backend;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.tensor.DType;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The checks every backend shares accept what the ops define and refuse the rest, naming the shapes. */
class TensorChecksTest {

    private static Tensor t(DType dtype, long... dims) {
        Shape shape = Shape.of(dims);
        return new Tensor(MemorySegment.ofArray(new byte[Math.toIntExact(shape.numel() * dtype.byteSize())]), dtype, shape, Placement.HOST);
    }

    private static void assertRefused(Executable call, String... inMessage) {
        String message = assertThrows(IllegalArgumentException.class, call).getMessage();
        for (String part : inMessage) {
            assertTrue(message.contains(part), message);
        }
    }

    @Test
    void aByteCopyNeedsOneDtypeAndCount() {
        assertDoesNotThrow(() -> TensorChecks.requireSameDTypeAndCount("copy", t(DType.BF16, 4, 6), t(DType.BF16, 24)));
        assertRefused(() -> TensorChecks.requireSameDTypeAndCount("copyAsync", t(DType.BF16, 4, 6), t(DType.F32, 4, 6)),
                "copyAsync needs the same dtype and element count");
        assertRefused(() -> TensorChecks.requireSameCount("axpy", t(DType.F32, 4, 6), t(DType.BF16, 4, 5)), "axpy", "24", "20");
    }

    @Test
    void swapLeadingDimsNeedsTheSwappedShape() {
        assertDoesNotThrow(() -> TensorChecks.requireSwappedLeadingDims(t(DType.F32, 3, 4, 8), t(DType.F32, 4, 3, 8)));
        assertRefused(() -> TensorChecks.requireSwappedLeadingDims(t(DType.F32, 3, 4, 8), t(DType.F32, 3, 4, 8)), "needs dst shape [4, 3, 8]");
        assertRefused(() -> TensorChecks.requireSwappedLeadingDims(t(DType.F32, 12), t(DType.F32, 12)), "rank >= 2");
        assertRefused(() -> TensorChecks.requireSwappedLeadingDims(t(DType.F32, 3, 4), t(DType.BF16, 4, 3)), "one dtype");
    }

    @Test
    void headRepeatsIsTheRatioOfHeadCounts() {
        assertEquals(3, TensorChecks.headRepeats("repeatHeads", t(DType.F32, 5, 2, 8), t(DType.F32, 5, 6, 8)));
        assertRefused(() -> TensorChecks.headRepeats("repeatHeads", t(DType.F32, 5, 4, 8), t(DType.F32, 5, 6, 8)), "[S, H*r, D]");
        assertRefused(() -> TensorChecks.headRepeats("sumRepeatedHeads", t(DType.F32, 5, 2, 8), t(DType.F32, 4, 6, 8)),
                "sumRepeatedHeads", "[5, 2, 8]", "[4, 6, 8]");
        assertRefused(() -> TensorChecks.requireSameDType("repeatHeads", t(DType.F32, 5, 2, 8), t(DType.BF16, 5, 6, 8)), "one dtype");
    }
}
