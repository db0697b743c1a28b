package dev.longbow.cuda;

import static dev.longbow.bindings.cuda.cuda_h.C_LONG_LONG;
import static dev.longbow.bindings.cuda.cuda_h.cuMemGetInfo_v2;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Device memory of the current context's device, in bytes. */
public record MemoryInfo(long free, long total) {

    static MemoryInfo query() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment free = arena.allocate(C_LONG_LONG);
            MemorySegment total = arena.allocate(C_LONG_LONG);
            CudaException.check("cuMemGetInfo_v2", cuMemGetInfo_v2(free, total));
            return new MemoryInfo(free.get(C_LONG_LONG, 0), total.get(C_LONG_LONG, 0));
        }
    }

    @Override
    public String toString() {
        return String.format("%.2f GiB free of %.2f GiB", free / (double) (1L << 30), total / (double) (1L << 30));
    }
}
