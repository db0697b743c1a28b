package dev.longbow.cuda;

import static dev.longbow.bindings.cuda.cuda_h.*;

import dev.longbow.tensor.Allocation;
import dev.longbow.tensor.Placement;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A block of device memory from {@code cuMemAlloc}, in the calling thread's current context.
 * Its {@link #segment()} carries the device address and size: tensors view it, kernels and copies
 * take it, the host never dereferences it. After {@link #close()} every view of it is invalid, so
 * a late copy or launch fails in Java instead of touching freed memory.
 */
public final class DeviceBuffer implements Allocation {
    /** CUDA_ERROR_OUT_OF_MEMORY. */
    static final int OUT_OF_MEMORY = 2;

    private final Arena arena;
    private final MemorySegment segment;

    private DeviceBuffer(Arena arena, MemorySegment segment) {
        this.arena = arena;
        this.segment = segment;
    }

    public static DeviceBuffer allocate(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("device allocation of " + bytes + " bytes; it must be positive");
        }
        CudaDriver.require();
        long address;
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment pointer = scratch.allocate(C_LONG_LONG);
            int result = cuMemAlloc_v2(pointer, bytes);
            if (result == OUT_OF_MEMORY) {
                throw new OutOfDeviceMemoryException(bytes, MemoryInfo.query());
            }
            CudaException.check("cuMemAlloc_v2", result);
            address = pointer.get(C_LONG_LONG, 0);
        }
        Arena arena = Arena.ofShared();
        MemorySegment segment = MemorySegment.ofAddress(address).reinterpret(bytes, arena,
                freed -> CudaException.check("cuMemFree_v2", cuMemFree_v2(freed.address())));
        return new DeviceBuffer(arena, segment);
    }

    /** Copies all of {@code host} (any host segment, of this buffer's size) into this buffer on {@code stream}. */
    public DeviceBuffer copyFromHost(MemorySegment host, Stream stream) {
        DeviceMemory.hostToDevice(host, segment, stream);
        return this;
    }

    /** Copies this buffer into {@code host} (any host segment of this buffer's size) on {@code stream}. */
    public DeviceBuffer copyToHost(MemorySegment host, Stream stream) {
        DeviceMemory.deviceToHost(segment, host, stream);
        return this;
    }

    /** Sets every byte to {@code value} on {@code stream}. */
    public DeviceBuffer fill(byte value, Stream stream) {
        DeviceMemory.fill(segment, value, stream);
        return this;
    }

    public long byteSize() {
        return segment.byteSize();
    }

    @Override
    public MemorySegment segment() {
        return segment;
    }

    @Override
    public Placement placement() {
        return Placement.DEVICE;
    }

    /** Frees the memory (cuMemFree: the owning context, or one of the same device, must be current). */
    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "DeviceBuffer[" + segment.byteSize() + " bytes at 0x" + Long.toHexString(segment.address()) + "]";
    }
}
