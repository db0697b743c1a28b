package dev.longbow.backend;

import dev.longbow.tensor.Allocation;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.HostAllocation;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Tensor;

/**
 * The operations attention and the model need, on one device. A rank owns one backend; every
 * operation is issued on that backend's compute stream in program order, so a caller never
 * synchronises between two operations of the same backend.
 *
 * <p>Implementations are found with {@link java.util.ServiceLoader} through
 * {@link BackendProvider} and chosen by a {@link BackendChoice}.
 *
 * <p>{@link #upload} and {@link #download} move Java arrays in and out of this backend's memory,
 * converting to and from the tensor's dtype; they wait for the copy, so they are for inputs and
 * results, not for the inner loop.
 */
public interface Backend extends AutoCloseable {

    /**
     * The provider's name.
     *
     * @return "cpu", "cuda", "tornado", ...
     */
    String name();

    /**
     * Where this backend's tensors live.
     *
     * @return host memory or device memory
     */
    Placement placement();

    /**
     * A block of this backend's memory; the caller owns it. Closing it lets the backend reuse it
     * for work issued later on the compute stream (a GPU backend keeps blocks across steps rather
     * than free them): work on another stream that touches it, a {@link #copyAsync} or a
     * communicator's transfer, must be awaited before it is closed.
     *
     * @param bytes the size of the block
     * @return the block, owned by the caller
     */
    Allocation allocate(long bytes);

    /**
     * A block of host memory that {@link #copyAsync} moves to and from this backend's memory
     * without blocking the host: page-locked on a GPU. The caller owns it. Schemes offload
     * activations here (FPDT).
     *
     * @param bytes the size of the block
     * @return the block, owned by the caller
     */
    default Allocation allocateHost(long bytes) {
        return new HostAllocation(bytes);
    }

    /**
     * Element-wise operations, copies and conversions.
     *
     * @return this backend's tensor operations
     */
    TensorOps tensors();

    /**
     * Flash attention forward and backward, and the merge of partial results.
     *
     * @return this backend's attention
     */
    AttentionOps attention();

    /**
     * The model's operations: matrix products, norms, rotary embeddings, the loss.
     *
     * @return this backend's model operations
     */
    ModelOps model();

    /**
     * Copies {@code src} to {@code dst} (any placements) on the backend's copy stream, after all
     * work issued before it; {@link Pending#await()} orders later work after the copy. Used to
     * offload activations to host memory and prefetch them back while compute goes on.
     *
     * @param src the tensor copied
     * @param dst where it goes: the same dtype and number of elements
     * @return the copy, to await before {@code dst} is read or {@code src} overwritten
     */
    Pending copyAsync(Tensor src, Tensor dst);

    /** Blocks the calling thread until all issued work has finished. */
    void synchronize();

    /**
     * Writes {@code values} into {@code dst}, a tensor in this backend's memory, rounding each to
     * its dtype (to nearest even for bf16 and f16); returns when the copy is done.
     *
     * @param values one per element of {@code dst}, row-major
     * @param dst    a tensor of this backend, floating point
     * @throws IllegalArgumentException when the counts differ or {@code dst} holds integers
     */
    default void upload(float[] values, Tensor dst) {
        if (values.length != dst.numel() || !dst.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException("upload of " + values.length + " floats into " + dst
                    + ": needs a floating-point tensor of exactly that many elements");
        }
        try (HostAllocation staging = new HostAllocation(dst.byteSize())) {
            Tensor host = HostAllocation.tensor(staging, dst.dtype(), dst.shape().toArray());
            for (int i = 0; i < values.length; i++) {
                host.setFloat(i, values[i]);
            }
            tensors().copy(host, dst);
            synchronize();
        }
    }

    /**
     * Writes {@code values} into {@code dst}, an {@link DType#I32} tensor in this backend's memory
     * (token ids, targets); returns when the copy is done.
     *
     * @param values one per element of {@code dst}, row-major
     * @param dst    an I32 tensor of this backend
     * @throws IllegalArgumentException when the counts or the dtype differ
     */
    default void upload(int[] values, Tensor dst) {
        dst.requireDType(DType.I32);
        if (values.length != dst.numel()) {
            throw new IllegalArgumentException("upload of " + values.length + " ints into " + dst + ": needs exactly that many elements");
        }
        try (HostAllocation staging = new HostAllocation(dst.byteSize())) {
            Tensor host = HostAllocation.tensor(staging, DType.I32, dst.shape().toArray());
            for (int i = 0; i < values.length; i++) {
                host.setInt(i, values[i]);
            }
            tensors().copy(host, dst);
            synchronize();
        }
    }

    /**
     * The elements of {@code src}, a floating-point tensor in this backend's memory, widened to
     * float, after all work issued so far.
     *
     * @param src a tensor of this backend, floating point, of at most 2^31 - 9 elements
     * @return its elements, row-major
     */
    default float[] download(Tensor src) {
        if (!src.dtype().isFloatingPoint() || src.numel() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("download of " + src + ": needs a floating-point tensor that fits a Java array");
        }
        try (HostAllocation staging = new HostAllocation(src.byteSize())) {
            Tensor host = HostAllocation.tensor(staging, src.dtype(), src.shape().toArray());
            tensors().copy(src, host);
            synchronize();
            float[] values = new float[(int) src.numel()];
            for (int i = 0; i < values.length; i++) {
                values[i] = host.getFloat(i);
            }
            return values;
        }
    }

    /** Releases the backend's streams, pools and device context; its allocations must be closed before. */
    @Override
    void close();
}
