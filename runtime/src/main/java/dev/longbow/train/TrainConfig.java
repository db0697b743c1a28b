package dev.longbow.train;

import dev.longbow.backend.Backends;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.Precision;
import dev.longbow.parallel.AttentionShape;
import dev.longbow.parallel.Scheme;
import dev.longbow.tensor.DType;
import java.util.Set;

/**
 * Everything a training run is, apart from its data.
 *
 * @param seqLen    tokens per sequence, split over the ranks
 * @param batch     sequences per optimizer step (gradient accumulation: one sequence at a time)
 * @param recompute recompute each layer's activations in backward instead of keeping them
 * @param chunkRows rows of logits computed at once by the chunked cross-entropy
 * @param precision what the model computes in; the backend must train in its dtype
 */
public record TrainConfig(ModelConfig model, Scheme scheme, int ranks, int seqLen, String backend, int steps,
                          int batch, OptimizerConfig optimizer, long seed, boolean recompute, int chunkRows,
                          Precision precision) {
    /** The longest sequence: its tokens and targets are Java int arrays of seqLen + 1 entries, drawn in one process. */
    public static final int MAX_SEQ_LEN = 1 << 30;

    /** Throws {@link IllegalArgumentException} naming the value, the limit and the fix, before any work. */
    public TrainConfig validate() {
        require(seqLen >= 2, "sequence length " + seqLen + " must be at least 2");
        require(seqLen <= MAX_SEQ_LEN, "sequence length " + seqLen + " is more than the " + MAX_SEQ_LEN + " tokens (2^30) one "
                + "process can hold as a sequence; use --seq-len " + MAX_SEQ_LEN + " or less");
        require(steps >= 1 && batch >= 1, "steps " + steps + " and batch " + batch + " must be at least 1");
        require(chunkRows >= 1, "logit chunk rows " + chunkRows + " must be at least 1");
        Set<DType> trains = Backends.provider(backend).trainingDTypes();
        require(trains.contains(precision.compute()), "precision " + precision.label() + " computes in " + precision.compute()
                + " but the " + backend + " backend trains in " + trains + " only; use --precision "
                + Precision.defaultFor(trains).label() + (precision == Precision.BF16_MIXED ? " or --backend cuda" : ""));
        scheme.validate(ranks, attentionShape());
        return this;
    }

    /** The attention every layer runs: the whole sequence, the model's heads, the precision's compute dtype, causal. */
    public AttentionShape attentionShape() {
        return new AttentionShape(seqLen, model.heads(), model.kvHeads(), model.headDim(), precision.compute(), true);
    }

    /** One line for logs and checkpoint metadata. */
    public String describe() {
        return "model " + model.name() + " (" + model.parameterCount() + " parameters), scheme " + scheme.name() + " on "
                + ranks + " ranks of " + backend + ", sequence " + seqLen + ", batch " + batch + ", steps " + steps
                + ", precision " + precision.label() + (precision == Precision.F32 ? "" : " mixed") + ", lr " + optimizer.lr()
                + ", seed " + seed + (recompute ? ", recompute" : "");
    }

    public int localLen() {
        return seqLen / ranks;
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
