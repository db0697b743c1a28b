package dev.longbow.backend;

import dev.longbow.tensor.Allocation;
import dev.longbow.tensor.HostAllocation;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Tensor;

/**
 * The operations attention and the model need, on one device. A rank owns one backend; every
 * operation is issued on that backend's compute stream in program order, so a caller never
 * synchronises between two operations of the same backend.
 *
 * <p>Implementations are found with {@link java.util.ServiceLoader} through
 * {@link BackendProvider} and chosen by name ({@link Backends#open}).
 */
public interface Backend extends AutoCloseable {

    /** The provider's name: "cpu", "cuda", "tornado". */
    String name();

    /** Where this backend's tensors live. */
    Placement placement();

    /**
     * A block of this backend's memory; the caller owns it. Closing it lets the backend reuse it
     * for work issued later on the compute stream (a GPU backend keeps blocks across steps rather
     * than free them): work on another stream that touches it, a {@link #copyAsync} or a
     * communicator's transfer, must be awaited before it is closed.
     */
    Allocation allocate(long bytes);

    /**
     * A block of host memory that {@link #copyAsync} moves to and from this backend's memory
     * without blocking the host: page-locked on a GPU. The caller owns it. Schemes offload
     * activations here (FPDT).
     */
    default Allocation allocateHost(long bytes) {
        return new HostAllocation(bytes);
    }

    TensorOps tensors();

    AttentionOps attention();

    ModelOps model();

    /**
     * Copies {@code src} to {@code dst} (any placements) on the backend's copy stream, after all
     * work issued before it; {@link Pending#await()} orders later work after the copy. Used to
     * offload activations to host memory and prefetch them back while compute goes on.
     */
    Pending copyAsync(Tensor src, Tensor dst);

    /** Blocks the calling thread until all issued work has finished. */
    void synchronize();

    @Override
    void close();
}
