package dev.longbow.kernels;

import static dev.longbow.kernels.KernelSignature.Param.F32;
import static dev.longbow.kernels.KernelSignature.Param.I32;
import static dev.longbow.kernels.KernelSignature.Param.I64;
import static dev.longbow.kernels.KernelSignature.Param.PTR;

import dev.longbow.tensor.DType;
import java.util.ArrayList;
import java.util.List;

/**
 * Every kernel entry point the CUDA backend launches, file by file: the Java mirror of the
 * {@code extern "C"} declarations in {@code src/main/cuda}. Variant names are the dtype suffixes
 * of {@link #suffix(DType)} joined by "_".
 */
final class Kernels {
    private Kernels() {
    }

    static final List<String> FLOATS = List.of("f32", "bf16", "f16");
    static final List<String> FLOAT_PAIRS = pairs(FLOATS, FLOATS);
    /** Word sizes of the row copies, in bytes: w16 moves 16 bytes per thread and step. */
    static final List<String> WORDS = List.of("w2", "w4", "w8", "w16");

    // elementwise.cu
    static final KernelSignature CONVERT = KernelSignature.of("elementwise", "longbow_convert", FLOAT_PAIRS, PTR, PTR, I64);
    static final KernelSignature AXPY = KernelSignature.of("elementwise", "longbow_axpy", FLOAT_PAIRS, F32, PTR, PTR, I64);
    static final KernelSignature FILL = KernelSignature.of("elementwise", "longbow_fill", List.of("f32", "bf16", "f16", "i32"), PTR, I64, F32);
    static final KernelSignature SCALE = KernelSignature.of("elementwise", "longbow_scale", FLOATS, PTR, I64, F32);
    static final KernelSignature SUM_OF_SQUARES_PARTIAL = KernelSignature.of("elementwise", "longbow_sum_of_squares_partial", FLOATS, PTR, I64, PTR);
    static final KernelSignature SUM_PARTIALS = KernelSignature.of("elementwise", "longbow_sum_partials", List.of("f64"), PTR, I32, PTR);

    // layout.cu
    static final KernelSignature SWAP_LEADING_DIMS = KernelSignature.of("layout", "longbow_swap_leading_dims", WORDS, PTR, PTR, I64, I64, I64);
    static final KernelSignature REPEAT_HEADS = KernelSignature.of("layout", "longbow_repeat_heads", WORDS, PTR, PTR, I64, I64, I64);
    static final KernelSignature SUM_REPEATED_HEADS = KernelSignature.of("layout", "longbow_sum_repeated_heads", FLOATS, PTR, PTR, I64, I64, I64);
    /** (src, dst, rows, src_words, dst_words): rows resized, cropped or zero-padded (the flash kernels' head-dim padding). */
    static final KernelSignature COPY_ROWS = KernelSignature.of("layout", "longbow_copy_rows", WORDS, PTR, PTR, I64, I64, I64);

    // merge.cu
    static final KernelSignature ATTENTION_MERGE = KernelSignature.of("merge", "longbow_attention_merge", FLOATS, PTR, PTR, PTR, PTR, I64, I32);

    // rmsnorm.cu
    static final KernelSignature RMSNORM_FORWARD = KernelSignature.of("rmsnorm", "longbow_rmsnorm_forward", FLOATS, PTR, PTR, PTR, PTR, I64, I64, F32);
    static final KernelSignature RMSNORM_BACKWARD = KernelSignature.of("rmsnorm", "longbow_rmsnorm_backward", FLOATS, PTR, PTR, PTR, PTR, PTR, PTR, I64, I64);
    static final KernelSignature COLUMN_SUM = KernelSignature.of("rmsnorm", "longbow_column_sum", List.of("f32"), PTR, I64, I64, PTR);

    // rope.cu, swiglu.cu, embedding.cu, cross_entropy.cu, adamw.cu
    static final KernelSignature ROPE = KernelSignature.of("rope", "longbow_rope", FLOATS, PTR, PTR, I64, I32, I32, F32, I32);
    static final KernelSignature SWIGLU_FORWARD = KernelSignature.of("swiglu", "longbow_swiglu_forward", FLOATS, PTR, PTR, PTR, I64);
    static final KernelSignature SWIGLU_BACKWARD = KernelSignature.of("swiglu", "longbow_swiglu_backward", FLOATS, PTR, PTR, PTR, PTR, PTR, I64);
    static final KernelSignature EMBEDDING_FORWARD = KernelSignature.of("embedding", "longbow_embedding_forward", FLOAT_PAIRS, PTR, PTR, PTR, I64, I64, I64);
    static final KernelSignature EMBEDDING_BACKWARD = KernelSignature.of("embedding", "longbow_embedding_backward", FLOATS, PTR, PTR, PTR, I64, I64, I64);
    static final KernelSignature CROSS_ENTROPY = KernelSignature.of("cross_entropy", "longbow_cross_entropy", FLOATS, PTR, PTR, PTR, I64, I64, F32);
    static final KernelSignature ADAMW = KernelSignature.of("adamw", "longbow_adamw", FLOATS, PTR, PTR, PTR, PTR, I64, F32, F32, F32, F32, F32, F32, F32);

    // gemm.cu: <inputs>_<output>_<op(A)><op(B)>, n as stored, t transposed
    static final KernelSignature GEMM = KernelSignature.of("gemm", "longbow_gemm",
            pairs(List.of("f32_f32", "bf16_f32", "bf16_bf16"), List.of("nn", "nt", "tn", "tt")), PTR, PTR, PTR, I32, I32, I32, F32, F32);

    // flash_fwd.cu, flash_bwd.cu (the flash engineer's; launch rules in FLASH_ABI.md): <T>_d<D>, out in T or fp32
    private static final List<String> FLASH = pairs(List.of("bf16", "f16"), List.of("d64", "d128"));
    static final KernelSignature FLASH_FORWARD = KernelSignature.of("flash_fwd", "flash_fwd", pairs(FLASH, List.of("f32out", "")),
            PTR, PTR, PTR, PTR, PTR, I32, I32, I32, I32, F32, I32, I64, I64);
    static final KernelSignature FLASH_DELTA = KernelSignature.of("flash_bwd", "flash_bwd_delta", List.of("bf16", "f16"), PTR, PTR, PTR, I32, I32, I32);
    static final KernelSignature FLASH_BACKWARD = KernelSignature.of("flash_bwd", "flash_bwd", FLASH,
            PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, I32, I32, I32, I32, F32, I32, I64, I64);

    static final List<KernelSignature> ALL = List.of(CONVERT, AXPY, FILL, SCALE, SUM_OF_SQUARES_PARTIAL, SUM_PARTIALS,
            SWAP_LEADING_DIMS, REPEAT_HEADS, SUM_REPEATED_HEADS, COPY_ROWS, ATTENTION_MERGE, RMSNORM_FORWARD, RMSNORM_BACKWARD, COLUMN_SUM,
            ROPE, SWIGLU_FORWARD, SWIGLU_BACKWARD, EMBEDDING_FORWARD, EMBEDDING_BACKWARD, CROSS_ENTROPY, ADAMW, GEMM,
            FLASH_FORWARD, FLASH_DELTA, FLASH_BACKWARD);

    /** The dtype's part of a kernel name. */
    static String suffix(DType dtype) {
        return switch (dtype) {
            case F32 -> "f32";
            case BF16 -> "bf16";
            case F16 -> "f16";
            case I32 -> "i32";
        };
    }

    static String suffix(DType a, DType b) {
        return suffix(a) + "_" + suffix(b);
    }

    /** Every "a_b", or "a" where b is empty. */
    private static List<String> pairs(List<String> first, List<String> second) {
        List<String> all = new ArrayList<>();
        for (String a : first) {
            for (String b : second) {
                all.add(b.isEmpty() ? a : a + "_" + b);
            }
        }
        return List.copyOf(all);
    }
}
