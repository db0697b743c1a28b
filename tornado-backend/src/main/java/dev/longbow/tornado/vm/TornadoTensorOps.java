package dev.longbow.tornado.vm;

import static dev.longbow.tensor.DType.F32;
import static dev.longbow.tensor.DType.I32;

import dev.longbow.backend.TensorOps;
import dev.longbow.tensor.Allocation;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * {@link TensorOps} as kernels on fp32 tensors of the device heap. Copies involving memory outside
 * the heap, or int32 tensors (which kernels only read), go through the host copy of the heap:
 * the device's writes come back first, and a write into the heap makes the next launch refresh
 * the device.
 */
final class TornadoTensorOps implements TensorOps {
    private final TornadoBackend backend;

    TornadoTensorOps(TornadoBackend backend) {
        this.backend = backend;
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        if (src.dtype() != dst.dtype() || src.numel() != dst.numel()) {
            throw new IllegalArgumentException("copy needs the same dtype and element count: " + src + " -> " + dst);
        }
        boolean fromHeap = backend.holds(src);
        boolean toHeap = backend.holds(dst);
        if (fromHeap && toHeap && src.dtype() == F32) {
            backend.launch(Launch.of(Kernel.COPY).args(backend.at("src", src, F32), backend.at("dst", dst, F32), src.numel())
                    .items(src.numel()).writes(backend.at("dst", dst, F32), dst.numel()));
            return;
        }
        if (fromHeap || toHeap) {
            backend.hostView(toHeap);
        }
        MemorySegment.copy(src.data(), 0, dst.data(), 0, src.byteSize());
    }

    @Override
    public void convert(Tensor src, Tensor dst) {
        if (src.numel() != dst.numel()) {
            throw new IllegalArgumentException("convert needs equal element counts: " + src + " -> " + dst);
        }
        if (src.dtype() == dst.dtype()) {
            copy(src, dst);
        } else if (src.dtype() == I32 && dst.dtype() == F32) {
            long to = backend.at("dst", dst, F32);
            backend.launch(Launch.of(Kernel.INT_TO_FLOAT).args(backend.at("src", src, I32), to, src.numel())
                    .items(src.numel()).writes(to, dst.numel()));
        } else {
            throw new IllegalArgumentException("the tornado backend converts int32 to fp32 only (it stores fp32 and int32), got "
                    + src + " -> " + dst);
        }
    }

    @Override
    public void fill(Tensor t, float value) {
        long at = backend.at("t", t, F32);
        backend.launch(Launch.of(Kernel.FILL).args(at, t.numel()).scalars(value).items(t.numel()).writes(at, t.numel()));
    }

    @Override
    public void axpy(float alpha, Tensor x, Tensor y) {
        requireSameCount("axpy", x, y);
        long at = backend.at("y", y, F32);
        backend.launch(Launch.of(Kernel.AXPY).args(backend.at("x", x, F32), at, x.numel()).scalars(alpha)
                .items(x.numel()).writes(at, y.numel()));
    }

    @Override
    public void scale(Tensor t, float alpha) {
        long at = backend.at("t", t, F32);
        backend.launch(Launch.of(Kernel.SCALE).args(at, t.numel()).scalars(alpha).items(t.numel()).writes(at, t.numel()));
    }

    /** Partial sums per work-group on the device, their total in double on the host. */
    @Override
    public double sumOfSquares(Tensor t) {
        long at = backend.at("t", t, F32);
        try (Allocation partials = backend.allocate((long) TensorKernels.SUM_GROUPS * Float.BYTES)) {
            Tensor p = new Tensor(partials.segment(), F32, Shape.of(TensorKernels.SUM_GROUPS), partials.placement());
            long to = backend.at("partials", p, F32);
            backend.launch(Launch.of(Kernel.SUM_OF_SQUARES).args(at, t.numel(), to).groups(TensorKernels.SUM_GROUPS)
                    .writes(to, TensorKernels.SUM_GROUPS));
            backend.hostView(false);
            double total = 0;
            for (int g = 0; g < TensorKernels.SUM_GROUPS; g++) {
                total += p.data().getAtIndex(ValueLayout.JAVA_FLOAT, g);
            }
            return total;
        }
    }

    @Override
    public void swapLeadingDims(Tensor src, Tensor dst) {
        if (src.shape().rank() < 2 || !dst.shape().equals(src.shape().with(0, src.dim(1)).with(1, src.dim(0)))) {
            throw new IllegalArgumentException("swapLeadingDims needs src [A, B, ...] and dst [B, A, ...], got "
                    + src.shape() + " -> " + dst.shape());
        }
        long to = backend.at("dst", dst, F32);
        backend.launch(Launch.of(Kernel.SWAP_LEADING_DIMS)
                .args(backend.at("src", src, F32), to, src.dim(0), src.dim(1), src.shape().stride(1))
                .items(src.numel()).writes(to, dst.numel()));
    }

    @Override
    public void repeatHeads(Tensor src, Tensor dst) {
        headLaunch(Kernel.REPEAT_HEADS, "repeatHeads", src, dst, src, dst);
    }

    @Override
    public void sumRepeatedHeads(Tensor src, Tensor dst) {
        headLaunch(Kernel.SUM_REPEATED_HEADS, "sumRepeatedHeads", src, dst, dst, src);
    }

    /** Between {@code few [S, H, D]} and {@code many [S, H*r, D]}; one work-item per element of dst. */
    private void headLaunch(Kernel kernel, String op, Tensor src, Tensor dst, Tensor few, Tensor many) {
        if (few.shape().rank() != 3 || many.shape().rank() != 3 || few.dim(0) != many.dim(0)
                || few.dim(2) != many.dim(2) || few.dim(1) == 0 || many.dim(1) % few.dim(1) != 0) {
            throw new IllegalArgumentException(op + " needs [S, H, D] and [S, H*r, D], got " + few.shape() + " and " + many.shape());
        }
        long to = backend.at("dst", dst, F32);
        backend.launch(Launch.of(kernel)
                .args(backend.at("src", src, F32), to, few.dim(0), few.dim(1), many.dim(1) / few.dim(1), few.dim(2))
                .items(dst.numel()).writes(to, dst.numel()));
    }

    static void requireSameCount(String op, Tensor a, Tensor b) {
        if (a.numel() != b.numel()) {
            throw new IllegalArgumentException(op + " needs equal element counts: " + a + " vs " + b);
        }
    }
}
