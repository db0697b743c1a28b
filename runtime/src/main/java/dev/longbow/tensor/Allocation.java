package dev.longbow.tensor;

import java.lang.foreign.MemorySegment;

/** One block of backend memory and its single owner: {@link #close()} frees it. */
public interface Allocation extends AutoCloseable {
    /** The block: host-addressable for {@link Placement#HOST}, a device address for {@link Placement#DEVICE}. */
    MemorySegment segment();

    /**
     * Where the block lives.
     *
     * @return host or device memory
     */
    Placement placement();

    @Override
    void close();
}
