package dev.longbow.parallel;

import dev.longbow.backend.AttentionParams;
import dev.longbow.backend.Backend;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;

/**
 * The tensors of one attention call in a backend's memory, in one allocation: the inputs q, k, v
 * and dout, the outputs out and lse, the gradients dq, dk and dv. A rank allocates its shard's
 * ({@code shape.localLen(ranks)} rows) and hands them to its scheme; one device allocates the
 * whole sequence's ({@code shape.seqLen()} rows) for the single-device reference
 * ({@link #forwardWhole}, {@link #backwardWhole}). Fill the inputs with {@link Backend#upload},
 * read the results with {@link Backend#download}. Closing frees them all.
 */
public final class AttentionBuffers implements AutoCloseable {
    private final Backend backend;
    private final AttentionShape shape;
    private final Slab slab;

    private AttentionBuffers(Backend backend, AttentionShape shape, Slab slab) {
        this.backend = backend;
        this.shape = shape;
        this.slab = slab;
    }

    /**
     * Allocates the tensors of {@code rows} tokens of {@code shape} in {@code backend}'s memory:
     * q, out, dout, dq {@code [rows, Hq, D]}, k, v, dk, dv {@code [rows, Hkv, D]} in the shape's
     * dtype, lse {@code [rows, Hq]} fp32. Their contents are undefined until written.
     *
     * @param backend where they live
     * @param shape   the attention
     * @param rows    tokens: a rank's {@code shape.localLen(ranks)}, or the whole {@code shape.seqLen()}
     * @return the buffers, owned by the caller
     */
    public static AttentionBuffers allocate(Backend backend, AttentionShape shape, long rows) {
        if (rows < 1) {
            throw new IllegalArgumentException("attention buffers of " + rows + " rows: need at least 1");
        }
        Slab.Builder b = Slab.builder();
        for (String name : new String[] {"q", "out", "dout", "dq"}) {
            b.add(name, shape.dtype(), rows, shape.heads(), shape.headDim());
        }
        for (String name : new String[] {"k", "v", "dk", "dv"}) {
            b.add(name, shape.dtype(), rows, shape.kvHeads(), shape.headDim());
        }
        b.add("lse", DType.F32, rows, shape.heads());
        return new AttentionBuffers(backend, shape, b.allocate(backend::allocate));
    }

    /**
     * The attention these buffers are shaped for.
     *
     * @return the shape
     */
    public AttentionShape shape() {
        return shape;
    }

    /**
     * The queries.
     *
     * @return {@code [rows, Hq, D]}
     */
    public Tensor q() {
        return slab.get("q");
    }

    /**
     * The keys.
     *
     * @return {@code [rows, Hkv, D]}
     */
    public Tensor k() {
        return slab.get("k");
    }

    /**
     * The values.
     *
     * @return {@code [rows, Hkv, D]}
     */
    public Tensor v() {
        return slab.get("v");
    }

    /**
     * The gradient arriving at the output, backward's input.
     *
     * @return {@code [rows, Hq, D]}
     */
    public Tensor dout() {
        return slab.get("dout");
    }

    /**
     * The output, forward's result.
     *
     * @return {@code [rows, Hq, D]}
     */
    public Tensor out() {
        return slab.get("out");
    }

    /**
     * The log-sum-exp of each query row's scores, forward's second result.
     *
     * @return {@code [rows, Hq]} fp32
     */
    public Tensor lse() {
        return slab.get("lse");
    }

    /**
     * The gradient of the queries, backward's result.
     *
     * @return {@code [rows, Hq, D]}
     */
    public Tensor dq() {
        return slab.get("dq");
    }

    /**
     * The gradient of the keys, backward's result.
     *
     * @return {@code [rows, Hkv, D]}
     */
    public Tensor dk() {
        return slab.get("dk");
    }

    /**
     * The gradient of the values, backward's result.
     *
     * @return {@code [rows, Hkv, D]}
     */
    public Tensor dv() {
        return slab.get("dv");
    }

    /**
     * A rank's forward through {@code attention}: out and lse from q, k and v. Close the returned
     * state after {@link #backward} (or at once, when no backward follows).
     *
     * @param attention this rank's scheme
     * @return what backward needs
     */
    public SequenceParallelAttention.Saved forward(SequenceParallelAttention attention) {
        return attention.forward(q(), k(), v(), out(), lse());
    }

    /**
     * A rank's backward through {@code attention}: dq, dk and dv from dout and what forward saved.
     *
     * @param attention this rank's scheme, the one that ran forward
     * @param saved     what its forward returned
     */
    public void backward(SequenceParallelAttention attention, SequenceParallelAttention.Saved saved) {
        attention.backward(saved, dout(), dq(), dk(), dv());
    }

    /**
     * Forward over all rows at once on this one device, the reference a scheme reproduces: these
     * buffers must hold the whole sequence.
     */
    public void forwardWhole() {
        requireWhole();
        backend.attention().forward(q(), k(), v(), out(), lse(), AttentionParams.of(shape.headDim(), shape.causal()));
        backend.synchronize();
    }

    /** Backward over all rows at once on this one device, after {@link #forwardWhole}; gradients accumulate in fp32. */
    public void backwardWhole() {
        requireWhole();
        Slab.Builder b = Slab.builder();
        for (String name : new String[] {"dq", "dk", "dv"}) {
            b.add(name, DType.F32, slab.get(name).shape().toArray());
        }
        try (Slab acc = b.allocate(backend::allocate)) {
            for (String name : new String[] {"dq", "dk", "dv"}) {
                backend.tensors().fill(acc.get(name), 0f);
            }
            backend.attention().backward(q(), k(), v(), out(), lse(), dout(), acc.get("dq"), acc.get("dk"), acc.get("dv"),
                    AttentionParams.of(shape.headDim(), shape.causal()));
            for (String name : new String[] {"dq", "dk", "dv"}) {
                backend.tensors().convert(acc.get(name), slab.get(name));
            }
            backend.synchronize();
        }
    }

    private void requireWhole() {
        if (q().dim(0) != shape.seqLen()) {
            throw new IllegalStateException("single-device attention needs the whole sequence's " + shape.seqLen()
                    + " rows, these buffers hold " + q().dim(0) + " (a rank's shard runs through its scheme)");
        }
    }

    /** Frees the tensors; views of them are invalid after. */
    @Override
    public void close() {
        slab.close();
    }
}
