package dev.longbow.cuda;

import static dev.longbow.bindings.cuda.cuda_h.*;

import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Asynchronous copies and fills of device memory, each issued on the stream it names. Host sides
 * may be any segment: pinned ({@link PinnedBuffer}) memory is copied by DMA while the host goes
 * on; other native memory is pageable, which the driver stages, so the call returns once the
 * host side may be reused (host to device) or holds the data (device to host); heap segments
 * are staged through a native buffer with the same guarantees.
 */
public final class DeviceMemory {
    private DeviceMemory() {
    }

    public static void hostToDevice(MemorySegment host, MemorySegment device, Stream stream) {
        requireSameSize(host, device);
        if (host.isNative()) {
            CudaException.check("cuMemcpyHtoDAsync_v2",
                    cuMemcpyHtoDAsync_v2(address(device), host, host.byteSize(), stream.handle()));
            return;
        }
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment staged = scratch.allocate(host.byteSize(), 16).copyFrom(host);
            CudaException.check("cuMemcpyHtoDAsync_v2",
                    cuMemcpyHtoDAsync_v2(address(device), staged, staged.byteSize(), stream.handle()));
        }
    }

    public static void deviceToHost(MemorySegment device, MemorySegment host, Stream stream) {
        requireSameSize(device, host);
        if (host.isNative()) {
            CudaException.check("cuMemcpyDtoHAsync_v2",
                    cuMemcpyDtoHAsync_v2(host, address(device), host.byteSize(), stream.handle()));
            return;
        }
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment staged = scratch.allocate(host.byteSize(), 16);
            CudaException.check("cuMemcpyDtoHAsync_v2",
                    cuMemcpyDtoHAsync_v2(staged, address(device), staged.byteSize(), stream.handle()));
            host.copyFrom(staged);
        }
    }

    public static void deviceToDevice(MemorySegment source, MemorySegment target, Stream stream) {
        requireSameSize(source, target);
        CudaException.check("cuMemcpyDtoDAsync_v2",
                cuMemcpyDtoDAsync_v2(address(target), address(source), source.byteSize(), stream.handle()));
    }

    /**
     * Copies between any two of the process's device allocations, on this GPU or another
     * ({@code cuMemcpyAsync}: unified addressing tells the driver where each side lives, and a
     * copy between GPUs goes peer to peer where the GPUs can, through the host where not). The
     * stream's context may be either side's or a third GPU's.
     */
    public static void unifiedCopy(MemorySegment source, MemorySegment target, Stream stream) {
        requireSameSize(source, target);
        CudaException.check("cuMemcpyAsync", cuMemcpyAsync(address(target), address(source), source.byteSize(), stream.handle()));
    }

    /**
     * Copies {@code source} into {@code target} (same dtype and shape, any placements) on
     * {@code stream}. Host to host goes through the stream too, so it is ordered with the
     * stream's other work (unified addressing makes every native segment a valid source).
     */
    public static void copy(Tensor source, Tensor target, Stream stream) {
        if (!source.sameLayout(target)) {
            throw new IllegalArgumentException("copy from " + source + " to " + target + ": dtype and shape must match");
        }
        MemorySegment from = source.data();
        MemorySegment to = target.data();
        switch (source.placement()) {
            case HOST -> {
                if (target.placement() == Placement.DEVICE) {
                    hostToDevice(from, to, stream);
                } else if (from.isNative() && to.isNative()) {
                    CudaException.check("cuMemcpyAsync", cuMemcpyAsync(address(to), address(from), from.byteSize(), stream.handle()));
                } else {
                    stream.synchronize();
                    to.copyFrom(from);
                }
            }
            case DEVICE -> {
                if (target.placement() == Placement.DEVICE) {
                    deviceToDevice(from, to, stream);
                } else {
                    deviceToHost(from, to, stream);
                }
            }
        }
    }

    /** Sets every byte of {@code device} to {@code value}. */
    public static void fill(MemorySegment device, byte value, Stream stream) {
        CudaException.check("cuMemsetD8Async", cuMemsetD8Async(address(device), value, device.byteSize(), stream.handle()));
    }

    /** Sets every 32-bit word of {@code device} to {@code value} (e.g. the bits of a float). */
    public static void fill(MemorySegment device, int value, Stream stream) {
        if (device.byteSize() % 4 != 0 || address(device) % 4 != 0) {
            throw new IllegalArgumentException("32-bit fill of " + device.byteSize() + " bytes at 0x"
                    + Long.toHexString(address(device)) + ": size and address must be multiples of 4");
        }
        CudaException.check("cuMemsetD32Async", cuMemsetD32Async(address(device), value, device.byteSize() / 4, stream.handle()));
    }

    /**
     * The address of memory that must still be allocated: device addresses are plain numbers to
     * the driver, so a freed buffer would otherwise reach it unnoticed.
     */
    static long address(MemorySegment memory) {
        if (!memory.scope().isAlive()) {
            throw new IllegalStateException("memory at 0x" + Long.toHexString(memory.address()) + " (" + memory.byteSize()
                    + " bytes) was freed: its buffer is closed");
        }
        return memory.address();
    }

    private static void requireSameSize(MemorySegment source, MemorySegment target) {
        if (source.byteSize() != target.byteSize()) {
            throw new IllegalArgumentException("copy of " + source.byteSize() + " bytes into " + target.byteSize()
                    + " bytes: sizes must match");
        }
    }
}
