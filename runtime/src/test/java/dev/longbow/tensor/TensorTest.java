package dev.longbow.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class TensorTest {

    /** A GPU faults on misaligned scalar loads; a tensor view must never start between elements. */
    @Test
    void aViewMustStartOnAMultipleOfItsElementSize() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment block = arena.allocate(64, 16);
            var e = assertThrows(IllegalArgumentException.class,
                    () -> new Tensor(block.asSlice(2, 16), DType.F32, Shape.of(4), Placement.DEVICE));
            assertTrue(e.getMessage().contains("not aligned to its element size of 4 bytes"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new Tensor(block.asSlice(1, 8), DType.BF16, Shape.of(4), Placement.HOST));
            assertEquals(4, new Tensor(block.asSlice(4, 16), DType.I32, Shape.of(4), Placement.DEVICE).numel());
            assertEquals(4, new Tensor(block.asSlice(2, 8), DType.F16, Shape.of(4), Placement.DEVICE).numel());
        }
    }
}
