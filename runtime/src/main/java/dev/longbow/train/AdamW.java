package dev.longbow.train;

import dev.longbow.backend.AdamWStep;
import dev.longbow.backend.Backend;
import dev.longbow.backend.ModelOps;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.Weights;
import dev.longbow.tensor.Tensor;

/** AdamW's two moments, each a slab laid out like the parameters, and the update. */
public final class AdamW implements AutoCloseable {
    private final ModelOps ops;
    private final Weights m;
    private final Weights v;

    /**
     * Zeroed moments for {@code config}'s parameters in {@code backend}'s memory.
     *
     * @param config  the model
     * @param backend where the moments live
     */
    public AdamW(ModelConfig config, Backend backend) {
        this.ops = backend.model();
        this.m = Weights.allocate(config, backend);
        this.v = Weights.allocate(config, backend);
    }

    /** First moments, by parameter name. */
    public Weights m() {
        return m;
    }

    /** Second moments, by parameter name. */
    public Weights v() {
        return v;
    }

    /** One update with 1-based {@code step}; matrices decay, gains do not. */
    public void update(Weights params, Weights grads, OptimizerConfig o, float lr, int step) {
        for (String name : params.names()) {
            Tensor p = params.get(name);
            float decay = Weights.decayed(p) ? o.weightDecay() : 0f;
            ops.adamw(p, grads.get(name), m.get(name), v.get(name), new AdamWStep(lr, o.beta1(), o.beta2(), o.eps(), decay, step));
        }
    }

    @Override
    public void close() {
        m.close();
        v.close();
    }
}
