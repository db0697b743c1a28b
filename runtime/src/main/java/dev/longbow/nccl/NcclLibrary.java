package dev.longbow.nccl;

import dev.longbow.cuda.NativeLibrary;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** libnccl.so.2, loaded once on first use: from a system install or an nvidia-nccl-cu12/cu13 wheel. */
final class NcclLibrary {
    static final NativeLibrary LIBRARY = new NativeLibrary("NCCL", "libnccl.so.2", "ncclGetVersion",
            "longbow.nccl.library", "LONGBOW_NCCL_LIBRARY", searchDirs(), List.of());

    private static Path loaded;
    private static RuntimeException failure;

    private NcclLibrary() {
    }

    private static List<Path> searchDirs() {
        List<Path> dirs = new ArrayList<>(List.of(Path.of("/usr/lib/x86_64-linux-gnu"), Path.of("/usr/local/nvidia/lib64"),
                Path.of("/usr/lib64")));
        dirs.addAll(NativeLibrary.pythonPackageDirs("nvidia/nccl/lib"));
        return dirs;
    }

    /** Loads NCCL the first time; rethrows the first failure after that. */
    static synchronized Path require() {
        if (loaded == null && failure == null) {
            try {
                loaded = LIBRARY.load();
            } catch (RuntimeException e) {
                failure = e;
            }
        }
        if (failure != null) {
            throw failure;
        }
        return loaded;
    }

    static synchronized boolean isLoaded() {
        return loaded != null;
    }
}
