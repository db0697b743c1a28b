package dev.longbow.parallel;

import dev.longbow.tensor.Tensor;

/**
 * Attention over a sequence sharded across the ranks of a communicator. Every rank calls
 * {@link #forward} with its local shard (q {@code [S/P, Hq, D]}, k and v {@code [S/P, Hkv, D]},
 * laid out as {@link #layout()} says) and gets its shard of the exact result: the same numbers a
 * single device computing the whole sequence would produce.
 */
public interface SequenceParallelAttention extends AutoCloseable {

    /** "ulysses", "ring", "wallfacer", "fpdt", "hybrid". */
    String name();

    /** Which global token positions each rank's shard holds. */
    SequenceLayout layout();

    /**
     * Writes this rank's rows of the output ({@code out [S/P, Hq, D]}) and log-sum-exp
     * ({@code lse [S/P, Hq]} fp32). The returned handle holds what backward needs and owns any
     * memory kept for it (host buffers, for FPDT); close it when done. The caller keeps q, k, v,
     * out and lse unchanged until backward, which may read them.
     */
    Saved forward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse);

    /**
     * Writes the gradients of this rank's q, k, v shards (overwritten, not accumulated), in the
     * inputs' dtype. Call it once per {@link Saved}: it may reuse the saved memory, so a second
     * call on the same state, or one after the state was closed, throws {@link IllegalStateException}.
     */
    void backward(Saved saved, Tensor dout, Tensor dq, Tensor dk, Tensor dv);

    /** Bytes moved and buffer memory of the most recent forward or backward call on this rank. */
    CallStats lastCall();

    /** Releases what the scheme owns: the sub-communicators it split off (its rows and columns of ranks). */
    @Override
    default void close() {
    }

    /** The state kept from forward for backward. */
    interface Saved extends AutoCloseable {
        @Override
        void close();
    }
}
