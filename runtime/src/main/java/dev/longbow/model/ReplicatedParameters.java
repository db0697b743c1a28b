package dev.longbow.model;

import dev.longbow.backend.Backend;
import dev.longbow.tensor.Tensor;

/**
 * Every weight on every rank: the fp32 master weights, in mixed precision their compute copy,
 * and the fp32 gradients, each one slab. The calls return views and hand nothing over: the
 * trainer all-reduces {@link #grads()} once the whole batch is done.
 */
public final class ReplicatedParameters implements ParameterStore {
    private final Backend backend;
    private final Weights params;
    /** What the products read: {@code params} itself in fp32, its bf16 copy in mixed precision. */
    private final Weights compute;
    /** Per layer: the compute copy's matrices with the master's gains (the norm kernels read fp32 gains). */
    private final Weights.Layer[] layerWeights;
    private final Weights grads;
    private boolean computeStale = true;

    /**
     * Zeroed weights and gradients of {@code config} on {@code backend}.
     *
     * @param precision what the products compute in: a compute copy is kept unless fp32
     */
    public ReplicatedParameters(ModelConfig config, Precision precision, Backend backend) {
        this.backend = backend;
        this.params = Weights.allocate(config, backend);
        this.compute = precision == Precision.F32 ? params : Weights.allocate(config, backend, precision.compute());
        this.layerWeights = new Weights.Layer[config.layers()];
        for (int l = 0; l < config.layers(); l++) {
            Weights.Layer m = params.layer(l);
            Weights.Layer c = compute.layer(l);
            layerWeights[l] = new Weights.Layer(m.attnNorm(), c.wq(), c.wk(), c.wv(), c.wo(), m.mlpNorm(), c.wGate(), c.wUp(),
                    c.wDown());
        }
        this.grads = Weights.allocate(config, backend);
    }

    /**
     * The fp32 master weights. Whoever takes them may change them (initialise, load, update), so
     * the compute copy is converted from them again before they are next computed with.
     */
    public Weights params() {
        computeStale = true;
        return params;
    }

    /**
     * The weight gradients backward accumulates (fp32).
     *
     * @return the gradients
     */
    public Weights grads() {
        return grads;
    }

    @Override
    public Tensor embedding() {
        fresh();
        return params.embedding();
    }

    @Override
    public Weights.Layer layer(int l) {
        fresh();
        return layerWeights[l];
    }

    @Override
    public Tail tail() {
        return new Tail(params.finalNorm(), fresh().head());
    }

    @Override
    public Tensor embeddingGrads() {
        return grads.embedding();
    }

    @Override
    public Weights.Layer layerGrads(int l) {
        return grads.layer(l);
    }

    @Override
    public Tail tailGrads() {
        return new Tail(grads.finalNorm(), grads.head());
    }

    @Override
    public void zeroGrads() {
        backend.tensors().fill(grads.flat(), 0f);
    }

    @Override
    public void embeddingGradsDone() {
    }

    @Override
    public void layerGradsDone(int l) {
    }

    @Override
    public void tailGradsDone() {
    }

    @Override
    public long bufferBytes() {
        return params.flat().byteSize() + (compute != params ? compute.flat().byteSize() : 0) + grads.flat().byteSize();
    }

    /** The compute copy, converted from the masters first if they may have changed. */
    private Weights fresh() {
        if (computeStale && compute != params) {
            compute.convertFrom(params, backend.tensors());
        }
        computeStale = false;
        return compute;
    }

    @Override
    public void close() {
        grads.close();
        if (compute != params) {
            compute.close();
        }
        params.close();
    }
}
