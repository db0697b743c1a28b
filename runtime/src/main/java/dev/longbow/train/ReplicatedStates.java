package dev.longbow.train;

import dev.longbow.backend.Backend;
import dev.longbow.checkpoint.Checkpoint;
import dev.longbow.comm.Communicator;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.Precision;
import dev.longbow.model.ReplicatedParameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;

/** Every rank keeps the whole state: the gradients are all-reduced once a step, every replica updates alike. */
final class ReplicatedStates implements ModelStates {
    private final Backend backend;
    private final Communicator comm;
    private final ReplicatedParameters params;
    private final AdamW optimizer;

    ReplicatedStates(ModelConfig config, Precision precision, Backend backend, Communicator comm) {
        this.backend = backend;
        this.comm = comm;
        this.params = new ReplicatedParameters(config, precision, backend);
        this.optimizer = new AdamW(config, backend);
    }

    @Override
    public ReplicatedParameters store() {
        return params;
    }

    @Override
    public void initialize(long seed) {
        params.params().initialize(seed, backend);
    }

    @Override
    public void initializeFrom(InitialWeights initial) throws Exception {
        initial.copyInto(params.params(), backend);
    }

    @Override
    public void sumGradients() {
        if (comm.size() > 1) {
            comm.allReduce(params.grads().flat());
        }
    }

    @Override
    public double gradientNorm() {
        return Math.sqrt(backend.tensors().sumOfSquares(params.grads().flat()));
    }

    @Override
    public void scaleGradients(float factor) {
        backend.tensors().scale(params.grads().flat(), factor);
    }

    @Override
    public void update(OptimizerConfig o, float lr, int step) {
        optimizer.update(params.params(), params.grads(), o, lr, step);
    }

    @Override
    public void withWholeState(Consumer<Checkpoint.State> onRankZero) {
        if (comm.rank() == 0) {
            onRankZero.accept(state());
        }
    }

    @Override
    public void load(Path checkpoint) throws IOException {
        Checkpoint.load(checkpoint, state(), backend);
    }

    private Checkpoint.State state() {
        return new Checkpoint.State(params.params(), optimizer.m(), optimizer.v());
    }

    @Override
    public long momentBytes() {
        return optimizer.m().flat().byteSize() + optimizer.v().flat().byteSize();
    }

    @Override
    public void close() {
        optimizer.close();
    }
}
