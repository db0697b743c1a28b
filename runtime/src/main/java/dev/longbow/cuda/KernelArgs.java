package dev.longbow.cuda;

import dev.longbow.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * The arguments of one kernel launch, in the order of the kernel's parameters, and the one place
 * they are packed into what {@code cuLaunchKernel} takes: an array of pointers, entry i pointing at
 * the value of parameter i. Pointers are device addresses (or pinned host memory, which unified
 * addressing makes visible to kernels).
 */
public final class KernelArgs {
    private final List<ValueLayout> layouts = new ArrayList<>();
    private final List<Object> values = new ArrayList<>();

    public static KernelArgs of() {
        return new KernelArgs();
    }

    /** The address of {@code memory}: device memory or pinned host memory, never a heap array. */
    public KernelArgs pointer(MemorySegment memory) {
        if (!memory.isNative()) {
            throw new IllegalArgumentException("kernel argument " + layouts.size() + " is a heap segment; kernels take device or pinned memory");
        }
        return add(ValueLayout.JAVA_LONG, DeviceMemory.address(memory));
    }

    /** The address of the tensor's first element. */
    public KernelArgs pointer(Tensor tensor) {
        return pointer(tensor.data());
    }

    public KernelArgs i32(int value) {
        return add(ValueLayout.JAVA_INT, value);
    }

    public KernelArgs i64(long value) {
        return add(ValueLayout.JAVA_LONG, value);
    }

    public KernelArgs f32(float value) {
        return add(ValueLayout.JAVA_FLOAT, value);
    }

    public int size() {
        return layouts.size();
    }

    private KernelArgs add(ValueLayout layout, Object value) {
        layouts.add(layout);
        values.add(value);
        return this;
    }

    /**
     * Writes every value into one block (each at its natural alignment) and returns the array of
     * pointers into it. The driver copies the values at launch, so the allocator's memory may be
     * freed as soon as {@code cuLaunchKernel} returns.
     */
    public MemorySegment pack(SegmentAllocator allocator) {
        long[] offsets = new long[layouts.size()];
        long end = 0;
        for (int i = 0; i < offsets.length; i++) {
            long size = layouts.get(i).byteSize();
            offsets[i] = (end + size - 1) / size * size;
            end = offsets[i] + size;
        }
        MemorySegment block = allocator.allocate(Math.max(end, 1), 8);
        MemorySegment pointers = allocator.allocate(ValueLayout.ADDRESS, Math.max(offsets.length, 1));
        for (int i = 0; i < offsets.length; i++) {
            switch (values.get(i)) {
                case Integer v -> block.set(ValueLayout.JAVA_INT, offsets[i], v);
                case Long v -> block.set(ValueLayout.JAVA_LONG, offsets[i], v);
                case Float v -> block.set(ValueLayout.JAVA_FLOAT, offsets[i], v);
                default -> throw new AssertionError(values.get(i));
            }
            pointers.setAtIndex(ValueLayout.ADDRESS, i, block.asSlice(offsets[i]));
        }
        return pointers;
    }

    @Override
    public String toString() {
        return values.toString();
    }
}
