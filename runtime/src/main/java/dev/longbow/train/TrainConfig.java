package dev.longbow.train;

import dev.longbow.backend.BackendChoice;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.Precision;
import dev.longbow.parallel.AttentionShape;
import dev.longbow.parallel.Scheme;
import dev.longbow.tensor.DType;
import java.util.Set;

/**
 * Everything a training run is, apart from its data. Make one with {@link #builder}: the model and
 * the scheme are required, everything else has the command line's default.
 *
 * <pre>{@code
 * TrainConfig config = TrainConfig.builder(ModelConfig.named("tiny", vocab), new Ring())
 *         .ranks(4).seqLen(256).steps(10)
 *         .build();
 * }</pre>
 *
 * @param model     the model's shape
 * @param scheme    the sequence-parallel attention every layer runs
 * @param ranks     ranks the sequence is split over
 * @param seqLen    tokens per sequence, split over the ranks
 * @param backend   where each rank computes
 * @param steps     optimizer steps of the run
 * @param batch     sequences per optimizer step (gradient accumulation: one sequence at a time)
 * @param optimizer AdamW's settings and the learning-rate schedule
 * @param seed      the initial weights' seed (and the data order's, where the data takes it)
 * @param recompute recompute each layer's activations in backward instead of keeping them
 * @param chunkRows rows of logits computed at once by the chunked cross-entropy
 * @param precision what the model computes in; the backend must train in its dtype
 * @param shardModelStates shard the fp32 parameters, gradients and AdamW moments over the ranks (ZeRO-3, FSDP style)
 *                         instead of keeping them whole on every rank: 16 / ranks bytes per parameter instead of 16,
 *                         for gathering each unit of weights before it computes and reduce-scattering its gradients
 */
public record TrainConfig(ModelConfig model, Scheme scheme, int ranks, int seqLen, BackendChoice backend, int steps,
                          int batch, OptimizerConfig optimizer, long seed, boolean recompute, int chunkRows,
                          Precision precision, boolean shardModelStates) {
    /** The longest sequence: its tokens and targets are Java int arrays of seqLen + 1 entries, drawn in one process. */
    public static final int MAX_SEQ_LEN = 1 << 30;

    /**
     * A configuration with the backend as the command line and the planner's cluster presets spell
     * it ("cpu", "cuda"); the parameters are the record's.
     *
     * @param model     the model's shape
     * @param scheme    the attention scheme
     * @param ranks     ranks the sequence is split over
     * @param seqLen    tokens per sequence
     * @param backend   a backend provider's name
     * @param steps     optimizer steps
     * @param batch     sequences per step
     * @param optimizer AdamW's settings
     * @param seed      the initial weights' seed
     * @param recompute recompute activations in backward
     * @param chunkRows logit rows at once
     * @param precision what the model computes in
     * @param shardModelStates shard the model states over the ranks
     */
    public TrainConfig(ModelConfig model, Scheme scheme, int ranks, int seqLen, String backend, int steps, int batch,
                       OptimizerConfig optimizer, long seed, boolean recompute, int chunkRows, Precision precision,
                       boolean shardModelStates) {
        this(model, scheme, ranks, seqLen, BackendChoice.named(backend), steps, batch, optimizer, seed, recompute, chunkRows,
                precision, shardModelStates);
    }

    /**
     * A builder for a run of {@code model} with {@code scheme}: 1 rank of the CPU backend, 1024
     * tokens per sequence, 40 steps of 1 sequence, {@link OptimizerConfig#defaults} with lr 3e-3
     * and 5 warmup steps, seed 1234, no recompute, 256 logit rows at a time, the precision the
     * backend trains in ({@link Precision#defaultFor}), and model states replicated on every rank.
     *
     * @param model  the model's shape
     * @param scheme the attention scheme
     * @return the builder
     */
    public static Builder builder(ModelConfig model, Scheme scheme) {
        return new Builder(model, scheme);
    }

    /**
     * Throws {@link IllegalArgumentException} naming the value, the limit and the fix, before any work.
     *
     * @return this configuration, valid
     */
    public TrainConfig validate() {
        require(seqLen >= 2, "sequence length " + seqLen + " must be at least 2");
        require(seqLen <= MAX_SEQ_LEN, "sequence length " + seqLen + " is more than the " + MAX_SEQ_LEN + " tokens (2^30) one "
                + "process can hold as a sequence; use --seq-len " + MAX_SEQ_LEN + " or less");
        require(steps >= 1 && batch >= 1, "steps " + steps + " and batch " + batch + " must be at least 1");
        require(chunkRows >= 1, "logit chunk rows " + chunkRows + " must be at least 1");
        Set<DType> trains = backend.trainingDTypes();
        require(trains.contains(precision.compute()), "precision " + precision.label() + " computes in " + precision.compute()
                + " but the " + backend + " backend trains in " + trains + " only; use --precision "
                + Precision.defaultFor(trains).label() + (precision == Precision.BF16_MIXED ? " or --backend cuda" : ""));
        scheme.validate(ranks, attentionShape());
        return this;
    }

    /**
     * The attention every layer runs: the whole sequence, the model's heads, the precision's compute dtype, causal.
     *
     * @return the shape
     */
    public AttentionShape attentionShape() {
        return new AttentionShape(seqLen, model.heads(), model.kvHeads(), model.headDim(), precision.compute(), true);
    }

    /**
     * One line for logs and checkpoint metadata.
     *
     * @return the run in words
     */
    public String describe() {
        return "model " + model.name() + " (" + model.parameterCount() + " parameters), scheme " + scheme.name() + " on "
                + ranks + " ranks of " + backend + ", sequence " + seqLen + ", batch " + batch + ", steps " + steps
                + ", precision " + precision.label() + (precision == Precision.F32 ? "" : " mixed") + ", lr " + optimizer.lr()
                + ", seed " + seed + (recompute ? ", recompute" : "") + (shardModelStates ? ", model states sharded" : "");
    }

    /**
     * Tokens of each rank's shard of a sequence.
     *
     * @return {@code seqLen / ranks}
     */
    public int localLen() {
        return seqLen / ranks;
    }

    /**
     * Builds a {@link TrainConfig} by named settings; {@link #build} validates it. Each setter
     * returns this builder.
     */
    public static final class Builder {
        private final ModelConfig model;
        private final Scheme scheme;
        private int ranks = 1;
        private int seqLen = 1024;
        private BackendChoice backend = BackendChoice.CPU;
        private int steps = 40;
        private int batch = 1;
        private OptimizerConfig optimizer = OptimizerConfig.defaults(3e-3f, 5);
        private long seed = 1234;
        private boolean recompute;
        private int chunkRows = 256;
        private Precision precision;
        private boolean shardModelStates;

        private Builder(ModelConfig model, Scheme scheme) {
            this.model = java.util.Objects.requireNonNull(model, "model");
            this.scheme = java.util.Objects.requireNonNull(scheme, "scheme");
        }

        /**
         * @param ranks ranks the sequence is split over: threads on the CPU, GPUs on CUDA
         * @return this builder
         */
        public Builder ranks(int ranks) {
            this.ranks = ranks;
            return this;
        }

        /**
         * @param seqLen tokens per sequence, divisible as the scheme needs
         * @return this builder
         */
        public Builder seqLen(int seqLen) {
            this.seqLen = seqLen;
            return this;
        }

        /**
         * @param backend where each rank computes
         * @return this builder
         */
        public Builder backend(BackendChoice backend) {
            this.backend = java.util.Objects.requireNonNull(backend, "backend");
            return this;
        }

        /**
         * @param steps optimizer steps of the run
         * @return this builder
         */
        public Builder steps(int steps) {
            this.steps = steps;
            return this;
        }

        /**
         * @param batch sequences per optimizer step
         * @return this builder
         */
        public Builder batch(int batch) {
            this.batch = batch;
            return this;
        }

        /**
         * @param optimizer AdamW's settings and the schedule
         * @return this builder
         */
        public Builder optimizer(OptimizerConfig optimizer) {
            this.optimizer = java.util.Objects.requireNonNull(optimizer, "optimizer");
            return this;
        }

        /**
         * @param seed the initial weights' seed
         * @return this builder
         */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * @param recompute recompute activations in backward: less memory, more compute
         * @return this builder
         */
        public Builder recompute(boolean recompute) {
            this.recompute = recompute;
            return this;
        }

        /**
         * @param chunkRows rows of logits computed at once
         * @return this builder
         */
        public Builder chunkRows(int chunkRows) {
            this.chunkRows = chunkRows;
            return this;
        }

        /**
         * @param precision what the model computes in (default: what the backend trains in)
         * @return this builder
         */
        public Builder precision(Precision precision) {
            this.precision = precision;
            return this;
        }

        /**
         * @param shardModelStates shard the fp32 parameters, gradients and AdamW moments over the ranks (ZeRO-3):
         *                         less memory per rank, for a gather of each unit of weights before it computes
         * @return this builder
         */
        public Builder shardModelStates(boolean shardModelStates) {
            this.shardModelStates = shardModelStates;
            return this;
        }

        /**
         * The configuration, validated ({@link TrainConfig#validate}).
         *
         * @return the configuration
         * @throws IllegalArgumentException naming the value, the limit and the fix
         */
        public TrainConfig build() {
            Precision p = precision != null ? precision : Precision.defaultFor(backend.trainingDTypes());
            return new TrainConfig(model, scheme, ranks, seqLen, backend, steps, batch, optimizer, seed, recompute, chunkRows, p,
                    shardModelStates).validate();
        }
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
