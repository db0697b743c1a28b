package dev.longbow.train;

import dev.longbow.backend.Backend;
import dev.longbow.checkpoint.Checkpoint;
import dev.longbow.comm.Communicator;
import dev.longbow.data.Shard;
import dev.longbow.data.TokenSequence;
import dev.longbow.model.Llama;
import dev.longbow.parallel.SequenceLayout;
import dev.longbow.parallel.SequenceParallelAttention;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.HostAllocation;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;

import java.util.Arrays;
import java.util.List;

/**
 * One rank's part of training: its replica of the parameters, its optimizer state, and the
 * step: forward and backward over its shard of each sequence, gradients summed over the ranks,
 * clipped by the global norm, one AdamW update. Every rank ends a step with identical parameters.
 */
public final class RankTrainer implements AutoCloseable {
    private final TrainConfig config;
    private final Backend backend;
    private final Communicator comm;
    private final SequenceLayout layout;
    private final SequenceParallelAttention attention;
    private final Llama model;
    private final AdamW optimizer;
    private final Slab scalar;

    /** Builds the scheme (a collective: every rank calls this together) and a freshly initialised model. */
    public RankTrainer(TrainConfig config, Backend backend, Communicator comm) {
        this.config = config;
        this.backend = backend;
        this.comm = comm;
        this.attention = config.scheme().attention(config.attentionShape(), backend, comm);
        this.layout = config.scheme().layout();
        boolean[] recompute = new boolean[config.model().layers()];
        Arrays.fill(recompute, config.recompute());
        this.model = new Llama(config.model(), config.precision(), backend, attention, config.localLen(), config.chunkRows(),
                recompute);
        this.optimizer = new AdamW(config.model(), backend);
        this.scalar = Slab.builder().add("value", DType.F32, 1).allocate(backend::allocate);
        model.params().initialize(config.seed(), backend);
    }

    /**
     * This rank's model.
     *
     * @return the model
     */
    public Llama model() {
        return model;
    }

    /**
     * This rank's optimizer state.
     *
     * @return the optimizer
     */
    public AdamW optimizer() {
        return optimizer;
    }

    /** The parameters and the optimizer's moments, as a checkpoint saves and loads them. */
    public Checkpoint.State checkpointState() {
        return new Checkpoint.State(model.params(), optimizer.m(), optimizer.v());
    }

    /**
     * The attention every layer runs on this rank.
     *
     * @return the scheme's rank attention
     */
    public SequenceParallelAttention attention() {
        return attention;
    }

    /** Bytes of this rank's parameter, gradient, optimizer and activation slabs. */
    public long bufferBytes() {
        return model.bufferBytes() + optimizer.m().flat().byteSize() + optimizer.v().flat().byteSize();
    }

    /** Forward and backward over {@code batch} with gradients summed over the ranks, no update. Returns the mean loss. */
    public double accumulateGradients(List<TokenSequence> batch) {
        int targets = 0;
        for (TokenSequence s : batch) {
            targets += Shard.countTargets(s.targets());
        }
        if (targets == 0) {
            throw new IllegalArgumentException("a batch of " + batch.size() + " sequences with no targets");
        }
        model.zeroGrads();
        double lossSum = 0;
        for (TokenSequence s : batch) {
            Shard shard = Shard.of(s.tokens(), s.targets(), layout, comm.rank(), comm.size());
            model.load(shard.tokens(), shard.targets(), shard.positions());
            lossSum += model.forwardBackward(1f / targets);
        }
        if (comm.size() > 1) {
            comm.allReduce(model.grads().flat());
        }
        return sumOverRanks(lossSum) / targets;
    }

    /**
     * One optimizer step (0-based {@code step}) on {@code batch}. A loss or gradient norm that is
     * NaN or infinite (the same on every rank: both are sums over the ranks) stops the run before
     * the update, or skips the update, as {@code onNonFinite} says.
     */
    public StepStats step(int step, List<TokenSequence> batch, OnNonFinite onNonFinite) {
        double loss = accumulateGradients(batch);
        Tensor grads = model.grads().flat();
        double norm = Math.sqrt(backend.tensors().sumOfSquares(grads));
        OptimizerConfig o = config.optimizer();
        float lr = o.lrAt(step, config.steps());
        long tokens = (long) batch.size() * config.seqLen();
        if (!Double.isFinite(loss) || !Double.isFinite(norm)) {
            if (onNonFinite == OnNonFinite.STOP) {
                throw new TrainingStoppedException("step " + step + ": the loss is " + loss + " and the gradient norm " + norm
                        + ": training diverged. The parameters were not updated and no checkpoint is written from here; resume "
                        + "from the newest checkpoint with a lower --lr or a longer --warmup, or pass --on-nonfinite skip");
            }
            return new StepStats(step, loss, norm, lr, tokens, true);
        }
        if (o.clip() > 0 && norm > o.clip()) {
            backend.tensors().scale(grads, (float) (o.clip() / norm));
        }
        optimizer.update(model.params(), model.grads(), o, lr, step + 1);
        return new StepStats(step, loss, norm, lr, tokens, false);
    }

    /** The mean loss of {@code batch} without touching the parameters. */
    public double evaluate(List<TokenSequence> batch) {
        int targets = 0;
        double lossSum = 0;
        for (TokenSequence s : batch) {
            targets += Shard.countTargets(s.targets());
            Shard shard = Shard.of(s.tokens(), s.targets(), layout, comm.rank(), comm.size());
            model.load(shard.tokens(), shard.targets(), shard.positions());
            lossSum += model.forwardLoss();
        }
        return sumOverRanks(lossSum) / targets;
    }

    /** Rank's predicted tokens at its shard's target rows, in shard row order (see {@link Llama#predictAtTargets()}). */
    public int[] predict(TokenSequence sequence) {
        Shard shard = Shard.of(sequence.tokens(), sequence.targets(), layout, comm.rank(), comm.size());
        model.load(shard.tokens(), shard.targets(), shard.positions());
        return model.predictAtTargets();
    }

    /** This rank's shard of {@code sequence}, as the scheme lays it out. */
    public Shard shard(TokenSequence sequence) {
        return Shard.of(sequence.tokens(), sequence.targets(), layout, comm.rank(), comm.size());
    }

    /** Sums a per-rank value over the ranks (in fp32, in rank order: the same on every rank). */
    public double sumOverRanks(double value) {
        if (comm.size() == 1) {
            return value;
        }
        try (HostAllocation host = new HostAllocation(4)) {
            Tensor h = HostAllocation.tensor(host, DType.F32, 1);
            h.setFloat(0, (float) value);
            backend.tensors().copy(h, scalar.get("value"));
            comm.allReduce(scalar.get("value"));
            backend.tensors().copy(scalar.get("value"), h);
            return h.getFloat(0);
        }
    }

    @Override
    public void close() {
        scalar.close();
        optimizer.close();
        model.close();
    }
}
