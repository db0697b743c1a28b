package dev.longbow.train;

import dev.longbow.checkpoint.Checkpoint;
import dev.longbow.model.ParameterStore;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * A rank's model states as the trainer keeps them: the fp32 parameters, their gradients and
 * AdamW's two moments, whole on every rank ({@link ReplicatedStates}) or sharded over the ranks
 * ({@link ShardedStates}, {@link TrainConfig#shardModelStates()}). The model computes through
 * {@link #store()}; the trainer sums, clips and updates through the rest. Every rank calls each
 * method together: some are collectives.
 */
sealed interface ModelStates extends AutoCloseable permits ReplicatedStates, ShardedStates {

    /**
     * What the model computes with and leaves its gradients in; the model owns it from here.
     *
     * @return the store
     */
    ParameterStore store();

    /**
     * Draws the initial parameters from {@code seed}, the same whatever the ranks or the sharding.
     *
     * @param seed the run's seed
     */
    void initialize(long seed);

    /**
     * Sets the parameters to {@code initial}'s.
     *
     * @param initial the weights to start from
     * @throws Exception what reading them throws
     */
    void initializeFrom(InitialWeights initial) throws Exception;

    /** After the step's last micro-batch: each rank's gradients become the sum over the ranks (a collective). */
    void sumGradients();

    /**
     * The global gradient norm, the same on every rank (a collective).
     *
     * @return the L2 norm of all the gradients
     */
    double gradientNorm();

    /**
     * Scales the gradients: clipping.
     *
     * @param factor the scale
     */
    void scaleGradients(float factor);

    /**
     * One AdamW update of the parameters this rank keeps; matrices decay, gains do not.
     *
     * @param o    the optimizer's settings
     * @param lr   this step's learning rate
     * @param step the 1-based step
     */
    void update(OptimizerConfig o, float lr, int step);

    /**
     * Hands the whole state to {@code onRankZero} on rank 0 (a collective: sharded states are
     * gathered first).
     *
     * @param onRankZero what rank 0 does with it (write a checkpoint); it must not keep it
     */
    void withWholeState(Consumer<Checkpoint.State> onRankZero);

    /**
     * Sets the parameters and the moments to a checkpoint's, whichever way the run that wrote it kept them.
     *
     * @param checkpoint the file, verified by the caller
     * @throws IOException when it cannot be read
     */
    void load(Path checkpoint) throws IOException;

    /**
     * Bytes of what this holds besides {@link #store()}: AdamW's moments.
     *
     * @return the moments' size
     */
    long momentBytes();

    @Override
    void close();
}
