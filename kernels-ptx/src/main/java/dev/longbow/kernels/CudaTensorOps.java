package dev.longbow.kernels;

import static dev.longbow.kernels.Checks.requireDevice;
import static dev.longbow.kernels.Checks.requireFloat;
import static dev.longbow.backend.TensorChecks.headRepeats;
import static dev.longbow.backend.TensorChecks.requireSameCount;
import static dev.longbow.backend.TensorChecks.requireSameDType;
import static dev.longbow.backend.TensorChecks.requireSameDTypeAndCount;
import static dev.longbow.backend.TensorChecks.requireSwappedLeadingDims;
import static dev.longbow.kernels.Kernels.suffix;

import dev.longbow.backend.TensorOps;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/** {@link TensorOps} on one rank's compute stream: elementwise.cu and layout.cu. */
final class CudaTensorOps implements TensorOps {
    private final Launcher gpu;

    CudaTensorOps(Launcher gpu) {
        this.gpu = gpu;
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        requireSameDTypeAndCount("copy", src, dst);
        gpu.copy(src, dst);
    }

    @Override
    public void convert(Tensor src, Tensor dst) {
        requireSameCount("convert", src, dst);
        if (src.dtype() == dst.dtype()) {
            copy(src, dst);
            return;
        }
        requireDevice("convert", src, dst);
        requireFloat("convert", "src", src);
        requireFloat("convert", "dst", dst);
        gpu.launch(Kernels.CONVERT, suffix(src.dtype(), dst.dtype()), stream(src.numel()), src, dst, src.numel());
    }

    @Override
    public void fill(Tensor t, float value) {
        requireDevice("fill", t);
        gpu.launch(Kernels.FILL, suffix(t.dtype()), stream(t.numel()), t, t.numel(), value);
    }

    @Override
    public void axpy(float alpha, Tensor x, Tensor y) {
        requireDevice("axpy", x, y);
        requireSameCount("axpy", x, y);
        requireFloat("axpy", "x", x);
        requireFloat("axpy", "y", y);
        gpu.launch(Kernels.AXPY, suffix(x.dtype(), y.dtype()), stream(x.numel()), alpha, x, y, x.numel());
    }

    @Override
    public void scale(Tensor t, float alpha) {
        requireDevice("scale", t);
        requireFloat("scale", "t", t);
        gpu.launch(Kernels.SCALE, suffix(t.dtype()), stream(t.numel()), t, t.numel(), alpha);
    }

    @Override
    public double sumOfSquares(Tensor t) {
        requireDevice("sumOfSquares", t);
        requireFloat("sumOfSquares", "t", t);
        Launch partials = stream(t.numel());
        int blocks = partials.gridX();
        MemorySegment scratch = gpu.scratch((blocks + 1L) * Double.BYTES);
        MemorySegment result = scratch.asSlice((long) blocks * Double.BYTES, Double.BYTES);
        gpu.launch(Kernels.SUM_OF_SQUARES_PARTIAL, suffix(t.dtype()), partials, t, t.numel(), scratch);
        gpu.launch(Kernels.SUM_PARTIALS, "f64", new Launch(1, 1, Launch.THREADS, 1, 0), scratch, blocks, result);
        return gpu.readDouble(result);
    }

    @Override
    public void swapLeadingDims(Tensor src, Tensor dst) {
        requireDevice("swapLeadingDims", src, dst);
        requireSwappedLeadingDims(src, dst);
        long a = src.dim(0);
        long b = src.dim(1);
        long rowBytes = src.shape().stride(1) * src.dtype().byteSize();
        if (src.numel() == 0) {
            return;
        }
        int word = Checks.wordBytes(rowBytes, src, dst);
        long words = rowBytes / word;
        gpu.launch(Kernels.SWAP_LEADING_DIMS, "w" + word, Launch.rows(a * b, words, gpu.sms()), src, dst, a, b, words);
    }

    @Override
    public void repeatHeads(Tensor src, Tensor dst) {
        requireDevice("repeatHeads", src, dst);
        long r = headRepeats("repeatHeads", src, dst);
        requireSameDType("repeatHeads", src, dst);
        if (dst.numel() == 0) {
            return;
        }
        long rowBytes = src.dim(2) * src.dtype().byteSize();
        int word = Checks.wordBytes(rowBytes, src, dst);
        long rows = dst.dim(0) * dst.dim(1);
        gpu.launch(Kernels.REPEAT_HEADS, "w" + word, Launch.rows(rows, rowBytes / word, gpu.sms()), src, dst, rows, r, rowBytes / word);
    }

    @Override
    public void sumRepeatedHeads(Tensor src, Tensor dst) {
        requireDevice("sumRepeatedHeads", src, dst);
        long r = headRepeats("sumRepeatedHeads", dst, src);
        requireSameDType("sumRepeatedHeads", src, dst);
        requireFloat("sumRepeatedHeads", "src", src);
        if (dst.numel() == 0) {
            return;
        }
        long rows = dst.dim(0) * dst.dim(1);
        long d = dst.dim(2);
        long packs = d * src.dtype().byteSize() % 16 == 0 ? d * src.dtype().byteSize() / 16 : d;
        gpu.launch(Kernels.SUM_REPEATED_HEADS, suffix(src.dtype()), Launch.rows(rows, packs, gpu.sms()), src, dst, rows, r, d);
    }

    /** Grid for an elementwise kernel over n elements moving up to 16 bytes per thread and step. */
    private Launch stream(long n) {
        return Launch.stream(Launch.ceilDiv(n, 4), gpu.sms());
    }
}
