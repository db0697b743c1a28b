package dev.longbow.cuda;

import static dev.longbow.bindings.cuda.cuda_h.*;

import dev.longbow.tensor.Allocation;
import dev.longbow.tensor.Placement;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Page-locked host memory from {@code cuMemHostAlloc}, exposed as it is: the {@link #segment()}
 * is the pinned memory itself (zero-copy), so the host reads and writes it directly and the GPU
 * copies to and from it by DMA, asynchronously. Portable: usable from every context of the
 * process. Offloaded activations live here (FPDT). Closing frees it and invalidates every view.
 */
public final class PinnedBuffer implements Allocation {
    private final Arena arena;
    private final MemorySegment segment;

    private PinnedBuffer(Arena arena, MemorySegment segment) {
        this.arena = arena;
        this.segment = segment;
    }

    /** Pins {@code bytes} of host memory; a context must be current on the calling thread. */
    public static PinnedBuffer allocate(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("pinned allocation of " + bytes + " bytes; it must be positive");
        }
        CudaDriver.require();
        MemorySegment address;
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment pointer = scratch.allocate(C_POINTER);
            int result = cuMemHostAlloc(pointer, bytes, CU_MEMHOSTALLOC_PORTABLE() | CU_MEMHOSTALLOC_DEVICEMAP());
            if (result != 0) {
                throw CudaException.of("cuMemHostAlloc", result, "asked for " + bytes + " bytes of pinned host memory");
            }
            address = pointer.get(C_POINTER, 0);
        }
        Arena arena = Arena.ofShared();
        MemorySegment segment = address.reinterpret(bytes, arena,
                freed -> CudaException.check("cuMemFreeHost", cuMemFreeHost(freed)));
        return new PinnedBuffer(arena, segment);
    }

    @Override
    public MemorySegment segment() {
        return segment;
    }

    @Override
    public Placement placement() {
        return Placement.HOST;
    }

    public long byteSize() {
        return segment.byteSize();
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "PinnedBuffer[" + segment.byteSize() + " bytes at 0x" + Long.toHexString(segment.address()) + "]";
    }
}
