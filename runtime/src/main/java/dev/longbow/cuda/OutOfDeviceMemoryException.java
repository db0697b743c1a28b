package dev.longbow.cuda;

/** cuMemAlloc could not find the bytes asked for; says how many were asked and how many were free. */
public final class OutOfDeviceMemoryException extends CudaException {
    private final long requested;
    private final MemoryInfo memory;

    OutOfDeviceMemoryException(long requested, MemoryInfo memory) {
        super("cuMemAlloc_v2", DeviceBuffer.OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory",
                String.format("asked for %d bytes (%.2f GiB) with %d bytes (%.2f GiB) free of %.2f GiB",
                        requested, requested / (double) (1L << 30), memory.free(), memory.free() / (double) (1L << 30),
                        memory.total() / (double) (1L << 30)));
        this.requested = requested;
        this.memory = memory;
    }

    public long requested() {
        return requested;
    }

    public MemoryInfo memory() {
        return memory;
    }
}
