package dev.longbow.bench.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * OpenBLAS's {@code cblas_sgemm} through Panama, the peer of {@code GemmBenchmark}: row-major
 * {@code C = alpha op(A) op(B) + beta C} on the same native buffers Longbow's GEMM uses.
 * The library is {@code -Dopenblas=PATH} (default: Debian's pthread build,
 * {@code apt-get install libopenblas0-pthread}); its kernels are chosen by {@code OPENBLAS_CORETYPE}.
 */
final class OpenBlas {
    static final String DEFAULT = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0";
    private static final int ROW_MAJOR = 101;
    private static final int NO_TRANS = 111;
    private static final int TRANS = 112;

    private final MethodHandle sgemm;
    private final MethodHandle setThreads;

    OpenBlas(Arena arena) {
        SymbolLookup lib = SymbolLookup.libraryLookup(Path.of(System.getProperty("openblas", DEFAULT)), arena);
        Linker linker = Linker.nativeLinker();
        ValueLayout.OfInt i = ValueLayout.JAVA_INT;
        ValueLayout.OfFloat f = ValueLayout.JAVA_FLOAT;
        sgemm = linker.downcallHandle(lib.find("cblas_sgemm").orElseThrow(), FunctionDescriptor.ofVoid(
                i, i, i, i, i, i, f, ValueLayout.ADDRESS, i, ValueLayout.ADDRESS, i, f, ValueLayout.ADDRESS, i));
        setThreads = linker.downcallHandle(lib.find("openblas_set_num_threads").orElseThrow(), FunctionDescriptor.ofVoid(i));
    }

    void threads(int n) {
        try {
            setThreads.invokeExact(n);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** A is {@code [m, k]} ({@code [k, m]} when transA), B {@code [k, n]} ({@code [n, k]} when transB), C {@code [m, n]}. */
    void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, MemorySegment a, MemorySegment b,
               float beta, MemorySegment c) {
        try {
            sgemm.invokeExact(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS, m, n, k, alpha,
                    a, transA ? m : k, b, transB ? k : n, beta, c, n);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
