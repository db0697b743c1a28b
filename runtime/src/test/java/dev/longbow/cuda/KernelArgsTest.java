package dev.longbow.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.longbow.tensor.DType;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** cuLaunchKernel's kernelParams: entry i is the address of a copy of argument i, in its C type. */
class KernelArgsTest {

    @Test
    void eachPointerLeadsToItsArgumentInItsCType() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment device = arena.allocate(4096, 256); // stands in for device memory: only its address is packed
            Tensor tensor = new Tensor(device.asSlice(1024, 64), DType.F32, Shape.of(16), Placement.DEVICE);
            KernelArgs args = KernelArgs.of().f32(2.5f).pointer(device).i32(-7).i64(1L << 40).pointer(tensor).i32(3);

            MemorySegment params = args.pack(arena).reinterpret(6 * ValueLayout.ADDRESS.byteSize());
            MemorySegment[] slot = new MemorySegment[6];
            for (int i = 0; i < 6; i++) {
                slot[i] = params.getAtIndex(ValueLayout.ADDRESS, i).reinterpret(8);
            }
            assertEquals(2.5f, slot[0].get(ValueLayout.JAVA_FLOAT, 0));
            assertEquals(device.address(), slot[1].get(ValueLayout.JAVA_LONG, 0));
            assertEquals(-7, slot[2].get(ValueLayout.JAVA_INT, 0));
            assertEquals(1L << 40, slot[3].get(ValueLayout.JAVA_LONG, 0));
            assertEquals(device.address() + 1024, slot[4].get(ValueLayout.JAVA_LONG, 0));
            assertEquals(3, slot[5].get(ValueLayout.JAVA_INT, 0));
            for (int i = 0; i < 6; i++) {
                long size = i == 0 || i == 2 || i == 5 ? 4 : 8;
                assertEquals(0, slot[i].address() % size, "argument " + i + " is naturally aligned");
            }
            assertEquals(6, args.size());
        }
    }

    @Test
    void heapMemoryAndFreedMemoryAreRejected() {
        var heap = assertThrows(IllegalArgumentException.class, () -> KernelArgs.of().i32(1).pointer(MemorySegment.ofArray(new float[4])));
        assertEquals("kernel argument 1 is a heap segment; kernels take device or pinned memory", heap.getMessage());
        MemorySegment freed;
        try (Arena arena = Arena.ofConfined()) {
            freed = arena.allocate(64);
        }
        assertThrows(IllegalStateException.class, () -> KernelArgs.of().pointer(freed));
    }

    @Test
    void noArgumentsPackToAValidArray() {
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(false, KernelArgs.of().pack(arena).equals(MemorySegment.NULL));
        }
    }
}
