package dev.longbow.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Host memory from a shared arena (ranks are threads that hand tensors to each other), freed on close. */
public final class HostAllocation implements Allocation {
    private final Arena arena;
    private final MemorySegment segment;

    /**
     * Allocates {@code bytes} of host memory, aligned to {@link Slab#ALIGNMENT}.
     *
     * @param bytes the size
     */
    public HostAllocation(long bytes) {
        this.arena = Arena.ofShared();
        this.segment = arena.allocate(bytes, Slab.ALIGNMENT);
    }

    /** A host tensor in its own allocation, for tests and small one-off buffers. */
    public static Tensor tensor(HostAllocation owner, DType dtype, long... dims) {
        return new Tensor(owner.segment.asSlice(0, Shape.of(dims).numel() * dtype.byteSize()), dtype, Shape.of(dims), Placement.HOST);
    }

    @Override
    public MemorySegment segment() {
        return segment;
    }

    @Override
    public Placement placement() {
        return Placement.HOST;
    }

    @Override
    public void close() {
        arena.close();
    }
}
