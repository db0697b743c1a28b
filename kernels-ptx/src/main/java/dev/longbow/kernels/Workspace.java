package dev.longbow.kernels;

import dev.longbow.cuda.DeviceBuffer;
import dev.longbow.cuda.Stream;
import java.lang.foreign.MemorySegment;

/**
 * The kernels' scratch memory on one rank: one device buffer, handed out whole to whichever op
 * asks next (ops run in order on the compute stream, so their uses never overlap). It grows, by
 * doubling, only when an op needs more than any before it: after the first step of a training
 * loop nothing is allocated.
 */
final class Workspace implements AutoCloseable {
    private static final long MIN_BYTES = 1 << 20;
    private final Stream stream;
    private DeviceBuffer buffer;

    Workspace(Stream stream) {
        this.stream = stream;
    }

    MemorySegment get(long bytes) {
        if (buffer == null || buffer.byteSize() < bytes) {
            long size = Math.max(MIN_BYTES, Math.max(bytes, buffer == null ? 0 : 2 * buffer.byteSize()));
            if (buffer != null) {
                stream.synchronize();  // kernels issued earlier may still use the old buffer
                buffer.close();
            }
            buffer = DeviceBuffer.allocate(size);
        }
        return buffer.segment().asSlice(0, bytes);
    }

    @Override
    public void close() {
        if (buffer != null) {
            buffer.close();
            buffer = null;
        }
    }
}
