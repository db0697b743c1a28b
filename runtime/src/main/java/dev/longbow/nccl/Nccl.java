package dev.longbow.nccl;

import static dev.longbow.bindings.nccl.nccl_h.C_INT;
import static dev.longbow.bindings.nccl.nccl_h.ncclGetVersion;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/** NCCL itself: loading it, its version, and groups of calls. */
public final class Nccl {
    private Nccl() {
    }

    /** Loads libnccl.so.2 (once); a {@link dev.longbow.cuda.NativeLibraryException} says where it looked when absent. */
    public static Path load() {
        return NcclLibrary.require();
    }

    /** The library's version code: 22907 for 2.29.7 (10000 * major + 100 * minor + patch). */
    public static int version() {
        load();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment version = arena.allocate(C_INT);
            NcclException.check("ncclGetVersion", ncclGetVersion(version), MemorySegment.NULL);
            return version.get(C_INT, 0);
        }
    }

    /** Starts a group; closing it (try-with-resources) launches everything issued inside. */
    public static NcclGroup group() {
        load();
        return new NcclGroup();
    }
}
