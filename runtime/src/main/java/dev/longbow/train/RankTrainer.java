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

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * One rank's part of training: its model states (the whole of them, or its shard of them:
 * {@link TrainConfig#shardModelStates()}) and the step: forward and backward over its shard of
 * each sequence, gradients summed over the ranks, clipped by the global norm, one AdamW update.
 * Every rank ends a step with the same parameters (or its shard of them).
 */
public final class RankTrainer implements AutoCloseable {
    private final TrainConfig config;
    private final Backend backend;
    private final Communicator comm;
    private final SequenceLayout layout;
    private final SequenceParallelAttention attention;
    private final ModelStates states;
    private final Llama model;
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
        this.scalar = Slab.builder().add("value", DType.F32, 1).allocate(backend::allocate);
        this.states = config.shardModelStates()
                ? new ShardedStates(config.model(), config.precision(), backend, comm, this::sumOverRanks)
                : new ReplicatedStates(config.model(), config.precision(), backend, comm);
        this.model = new Llama(config.model(), config.precision(), backend, attention, config.localLen(), config.chunkRows(),
                recompute, states.store());
        states.initialize(config.seed());
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
     * Sets the parameters to {@code initial}'s instead of the seeded draw: before the first step.
     *
     * @param initial the weights to start from
     * @throws Exception what reading them throws
     */
    public void initializeFrom(InitialWeights initial) throws Exception {
        states.initializeFrom(initial);
    }

    /**
     * Hands the parameters and the optimizer's moments, whole, to {@code onRankZero} on rank 0, as a
     * checkpoint saves them. Every rank calls this together: sharded states are gathered first.
     *
     * @param onRankZero what rank 0 does with them; it must not keep them
     */
    public void withCheckpointState(Consumer<Checkpoint.State> onRankZero) {
        states.withWholeState(onRankZero);
    }

    /**
     * Sets the parameters and the moments to {@code checkpoint}'s, whether the run that wrote it
     * sharded its states or not.
     *
     * @param checkpoint a checkpoint file, verified
     * @throws IOException when it cannot be read
     */
    public void loadCheckpoint(Path checkpoint) throws IOException {
        states.load(checkpoint);
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
        return model.bufferBytes() + states.momentBytes();
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
        states.sumGradients();
        return sumOverRanks(lossSum) / targets;
    }

    /**
     * One optimizer step (0-based {@code step}) on {@code batch}. A loss or gradient norm that is
     * NaN or infinite (the same on every rank: both are sums over the ranks) stops the run before
     * the update, or skips the update, as {@code onNonFinite} says.
     */
    public StepStats step(int step, List<TokenSequence> batch, OnNonFinite onNonFinite) {
        double loss = accumulateGradients(batch);
        double norm = states.gradientNorm();
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
            states.scaleGradients((float) (o.clip() / norm));
        }
        states.update(o, lr, step + 1);
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
        states.close();
        model.close();
        scalar.close();
    }
}
