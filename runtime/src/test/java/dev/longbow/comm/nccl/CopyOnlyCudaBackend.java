package dev.longbow.comm.nccl;

import dev.longbow.backend.AttentionOps;
import dev.longbow.backend.Backend;
import dev.longbow.cuda.CudaCompute;
import dev.longbow.backend.ModelOps;
import dev.longbow.backend.Pending;
import dev.longbow.backend.TensorOps;
import dev.longbow.cuda.Context;
import dev.longbow.cuda.DeviceBuffer;
import dev.longbow.cuda.DeviceMemory;
import dev.longbow.cuda.Stream;
import dev.longbow.tensor.Allocation;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Tensor;

/**
 * The least of a CUDA backend the communicator tests need, on the driver wrappers alone (the
 * real "cuda" backend lives in a module that depends on this one): device memory, copies and
 * fills on a compute stream. It computes nothing: every other operation throws.
 */
final class CopyOnlyCudaBackend implements Backend, CudaCompute {
    private final Context context;
    private final Stream compute;
    private final TensorOps tensors = new CopyOps();

    CopyOnlyCudaBackend(int ordinal) {
        this.context = Context.primary(ordinal).makeCurrent();
        this.compute = Stream.create("test-compute-" + ordinal);
    }

    @Override
    public Context context() {
        return context;
    }

    @Override
    public Stream computeStream() {
        return compute;
    }

    @Override
    public String name() {
        return "cuda-copy-only";
    }

    @Override
    public Placement placement() {
        return Placement.DEVICE;
    }

    @Override
    public Allocation allocate(long bytes) {
        context.makeCurrent();
        return DeviceBuffer.allocate(bytes);
    }

    @Override
    public TensorOps tensors() {
        return tensors;
    }

    @Override
    public AttentionOps attention() {
        throw new UnsupportedOperationException("the communicator tests' backend computes nothing");
    }

    @Override
    public ModelOps model() {
        throw new UnsupportedOperationException("the communicator tests' backend computes nothing");
    }

    @Override
    public Pending copyAsync(Tensor src, Tensor dst) {
        throw new UnsupportedOperationException("the communicator tests' backend has no copy stream");
    }

    @Override
    public void synchronize() {
        context.makeCurrent();
        compute.synchronize();
    }

    @Override
    public void close() {
        context.makeCurrent();
        compute.synchronize();
        compute.close();
        context.close();
    }

    /** Copies and fills on the compute stream; the arithmetic is not needed to move tensors. */
    private final class CopyOps implements TensorOps {
        @Override
        public void copy(Tensor src, Tensor dst) {
            context.makeCurrent();
            DeviceMemory.copy(src, dst.view(src.shape().toArray()), compute);
        }

        @Override
        public void fill(Tensor t, float value) {
            context.makeCurrent();
            if (value == 0f) {
                DeviceMemory.fill(t.data(), (byte) 0, compute);
            } else if (t.dtype() == DType.F32) {
                DeviceMemory.fill(t.data(), Float.floatToRawIntBits(value), compute);
            } else {
                throw new UnsupportedOperationException("fill of " + t + " with " + value + ": only zeros and f32");
            }
        }

        @Override
        public void convert(Tensor src, Tensor dst) {
            throw unsupported("convert");
        }

        @Override
        public void axpy(float alpha, Tensor x, Tensor y) {
            throw unsupported("axpy");
        }

        @Override
        public void scale(Tensor t, float alpha) {
            throw unsupported("scale");
        }

        @Override
        public double sumOfSquares(Tensor t) {
            throw unsupported("sumOfSquares");
        }

        @Override
        public void swapLeadingDims(Tensor src, Tensor dst) {
            throw unsupported("swapLeadingDims");
        }

        @Override
        public void repeatHeads(Tensor src, Tensor dst) {
            throw unsupported("repeatHeads");
        }

        @Override
        public void sumRepeatedHeads(Tensor src, Tensor dst) {
            throw unsupported("sumRepeatedHeads");
        }

        private static UnsupportedOperationException unsupported(String op) {
            return new UnsupportedOperationException(op + ": the communicator tests' backend only moves tensors");
        }
    }
}
