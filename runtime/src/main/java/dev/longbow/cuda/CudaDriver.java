package dev.longbow.cuda;

import static dev.longbow.bindings.cuda.cuda_h.cuInit;

import java.nio.file.Path;
import java.util.List;

/**
 * The CUDA driver library, loaded and initialised once per process on first use. Every wrapper
 * calls {@link #require()} before its first driver call, so a machine without the driver loads
 * every class and fails only when it asks for CUDA, with a message saying where it looked.
 */
final class CudaDriver {
    static final NativeLibrary LIBRARY = new NativeLibrary("CUDA driver", "libcuda.so.1", "cuInit",
            "longbow.cuda.library", "LONGBOW_CUDA_LIBRARY",
            List.of(Path.of("/usr/lib/x86_64-linux-gnu"), Path.of("/usr/local/nvidia/lib64"),
                    Path.of("/usr/lib64"), Path.of("/usr/lib/wsl/lib")),
            List.of("/stubs/"));

    private static Path library;
    private static boolean initialized;
    private static RuntimeException failure;

    private CudaDriver() {
    }

    /** Loads the driver and runs {@code cuInit(0)} the first time; rethrows the first failure after that. */
    static synchronized Path require() {
        if (!initialized && failure == null) {
            try {
                library = LIBRARY.load();
                CudaException.check("cuInit", cuInit(0));
                initialized = true;
            } catch (RuntimeException e) {
                failure = e;
            }
        }
        if (failure != null) {
            throw failure;
        }
        return library;
    }

    /** Whether the driver library is in the process, so error names can be asked of it (even if cuInit failed). */
    static synchronized boolean isLoaded() {
        return library != null;
    }
}
