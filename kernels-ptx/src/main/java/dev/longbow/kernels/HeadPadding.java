package dev.longbow.kernels;

import dev.longbow.tensor.Tensor;

/**
 * Head dims the flash kernels are not built for run on the next one they are: q, k, v (in
 * backward also out, dout and the fp32 gradient accumulators) are copied into rows of the
 * kernel's width, zero past the model's head dim, and the results are cropped back
 * ({@code longbow_copy_rows_*} of layout.cu). Zero columns change neither {@code q.k} nor
 * {@code p.v}, the softmax scale is the caller's (1/sqrt of the model's head dim, never the
 * kernel's), and the gradients of the padded columns are dropped by the crop, so the result is
 * the unpadded attention's. The price: the kernels do {@code kernelDim / headDim} times the work
 * (4x at D=16, 2x at D=32).
 */
final class HeadPadding {
    /** The head dims the flash kernels are built for, smallest first. */
    static final int[] KERNEL_DIMS = {64, 128};

    private HeadPadding() {
    }

    /** The flash kernel's head dim for {@code headDim}: the smallest built dim that holds it, or 0 when none does. */
    static int kernelDim(long headDim) {
        for (int d : KERNEL_DIMS) {
            if (headDim >= 1 && headDim <= d) {
                return d;
            }
        }
        return 0;
    }

    /**
     * Row {@code i} of {@code dst [..., W]} = row {@code i} of {@code src [..., V]}: padded with
     * zeros when W > V, cropped to its first W elements when W < V. One dtype, as many rows.
     */
    static void copyRows(Launcher gpu, Tensor src, Tensor dst) {
        long rows = src.numel() / src.dim(-1);
        if (src.dtype() != dst.dtype() || dst.numel() / dst.dim(-1) != rows) {
            throw new IllegalArgumentException("copyRows needs one dtype and as many rows: " + src + " -> " + dst);
        }
        if (rows == 0) {
            return;
        }
        long srcBytes = src.dim(-1) * src.dtype().byteSize();
        long dstBytes = dst.dim(-1) * dst.dtype().byteSize();
        // Word sizes are powers of two: the smaller of the two widest words divides both rows.
        int word = Math.min(Checks.wordBytes(srcBytes, src, dst), Checks.wordBytes(dstBytes, src, dst));
        gpu.launch(Kernels.COPY_ROWS, "w" + word, Launch.rows(rows, dstBytes / word, gpu.sms()), src, dst, rows,
                srcBytes / word, dstBytes / word);
    }
}
