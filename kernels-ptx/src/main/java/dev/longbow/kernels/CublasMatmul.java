package dev.longbow.kernels;

import static dev.longbow.bindings.cublas.cublas_h.*;

import dev.longbow.cuda.Context;
import dev.longbow.cuda.NativeLibrary;
import dev.longbow.cuda.Stream;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Matrix products through cuBLAS ({@code cublasGemmEx}) on one rank's compute stream. cuBLAS is
 * column-major; a row-major {@code C = op(A) op(B)} is the column-major {@code C^T = op(B)^T op(A)^T},
 * so the operands swap places and keep their own transposes ({@link #columnMajor}). F32 is
 * computed in full fp32 (the default math mode, no TF32); BF16 accumulates in fp32.
 */
final class CublasMatmul implements AutoCloseable {
    /** libcublas of CUDA 13: a toolkit install, or the nvidia-cublas wheel PyTorch brings (nvidia/cu13/lib). */
    static final NativeLibrary LIBRARY = new NativeLibrary("cuBLAS", "libcublas.so.13", "cublasGetVersion_v2", "longbow.cublas.library",
            "LONGBOW_CUBLAS_LIBRARY", searchDirs(), List.of());
    private static Path loaded;
    private static RuntimeException loadFailure;

    private final Context context;
    private final MemorySegment handle;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment alphaBeta = arena.allocate(ValueLayout.JAVA_FLOAT, 2);

    private CublasMatmul(Context context, MemorySegment handle) {
        this.context = context;
        this.handle = handle;
    }

    private static List<Path> searchDirs() {
        List<Path> dirs = new ArrayList<>(List.of(Path.of("/usr/local/cuda/lib64"), Path.of("/usr/local/cuda/targets/x86_64-linux/lib")));
        dirs.addAll(NativeLibrary.pythonPackageDirs("nvidia/cu13/lib"));
        return dirs;
    }

    /** Loads libcublas once per process; the exception says where it looked. */
    static synchronized Path load() {
        if (loaded == null && loadFailure == null) {
            try {
                loaded = LIBRARY.load();
            } catch (RuntimeException e) {
                loadFailure = e;
            }
        }
        if (loadFailure != null) {
            throw loadFailure;
        }
        return loaded;
    }

    /** A cuBLAS handle of {@code context} issuing on {@code stream}, a stream of that context. */
    static CublasMatmul open(Context context, Stream stream) {
        load();
        context.makeCurrent();
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment h = scratch.allocate(C_POINTER);
            check("cublasCreate_v2", cublasCreate_v2(h));
            CublasMatmul cublas = new CublasMatmul(context, h.get(C_POINTER, 0));
            check("cublasSetStream_v2", cublasSetStream_v2(cublas.handle, stream.handle()));
            check("cublasSetMathMode", cublasSetMathMode(cublas.handle, CUBLAS_DEFAULT_MATH()));
            return cublas;
        }
    }

    /** The operands as a column-major GEMM sees them: first is {@code [n, k]}, second {@code [k, m]}, C^T is {@code [n, m]}. */
    record ColumnMajor(boolean transFirst, boolean transSecond, int ldFirst, int ldSecond, int ldc) {
    }

    static ColumnMajor columnMajor(boolean transA, boolean transB, int m, int n, int k) {
        return new ColumnMajor(transB, transA, transB ? k : n, transA ? m : k, n);
    }

    /**
     * cuBLAS launches into the calling thread's current context (with none, the CUDA runtime
     * quietly makes device 0's current): the handle's context is made current first.
     */
    void gemm(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, int m, int n, int k, float alpha, float beta) {
        context.makeCurrent();
        ColumnMajor g = columnMajor(transA, transB, m, n, k);
        alphaBeta.setAtIndex(ValueLayout.JAVA_FLOAT, 0, alpha);
        alphaBeta.setAtIndex(ValueLayout.JAVA_FLOAT, 1, beta);
        int inputs = cudaType(a.dtype());
        check("cublasGemmEx", cublasGemmEx(handle, g.transFirst() ? CUBLAS_OP_T() : CUBLAS_OP_N(),
                g.transSecond() ? CUBLAS_OP_T() : CUBLAS_OP_N(), n, m, k, alphaBeta,
                b.data(), inputs, g.ldFirst(), a.data(), inputs, g.ldSecond(), alphaBeta.asSlice(4),
                c.data(), cudaType(c.dtype()), g.ldc(), CUBLAS_COMPUTE_32F(), CUBLAS_GEMM_DEFAULT()));
    }

    private static int cudaType(DType dtype) {
        return switch (dtype) {
            case F32 -> CUDA_R_32F();
            case BF16 -> CUDA_R_16BF();
            case F16 -> CUDA_R_16F();
            case I32 -> throw new IllegalArgumentException("cuBLAS matmul of I32");
        };
    }

    private static void check(String function, int status) {
        if (status != CUBLAS_STATUS_SUCCESS()) {
            String name = cublasGetStatusName(status).reinterpret(256).getString(0);
            String text = cublasGetStatusString(status).reinterpret(256).getString(0);
            throw new IllegalStateException(function + " failed: " + name + " (" + text + ")");
        }
    }

    @Override
    public void close() {
        context.makeCurrent();
        check("cublasDestroy_v2", cublasDestroy_v2(handle));
        arena.close();
    }
}
