package dev.longbow.plan;

import dev.longbow.model.Precision;
import dev.longbow.parallel.Scheme;
import dev.longbow.train.TrainConfig;
import java.util.Objects;

/**
 * A training run as the planner and {@code longbow train} both describe it: the scheme that
 * spreads each sequence over a group of ranks, how many such groups train side by side, and
 * what every step does. A micro-batch is one sequence: each group takes its sequences one at a
 * time, as long-sequence training does.
 *
 * @param scheme             the sequence-parallel scheme inside each group
 * @param sequenceParallel   ranks that share one sequence (the scheme's ranks)
 * @param dataParallel       groups, each training its own sequences ({@code longbow train}: 1)
 * @param seqLen             tokens per sequence
 * @param batch              sequences per optimizer step over all groups, a multiple of the groups
 * @param recompute          each layer's activations recomputed in backward instead of kept
 * @param precision          what the model computes in
 * @param offloadCheckpoints the layers' kept inputs in host memory (DeepSpeed's CPU
 *                           checkpointing; {@code longbow train} has none)
 * @param shardModelStates   {@code longbow train}'s model states (fp32 weights, gradients, AdamW
 *                           moments) sharded over the ranks ({@code --shard-model-states})
 *                           instead of whole on every rank
 */
public record Run(Scheme scheme, int sequenceParallel, int dataParallel, long seqLen, int batch, boolean recompute, Precision precision,
                  boolean offloadCheckpoints, boolean shardModelStates) {

    public Run {
        Objects.requireNonNull(scheme, "scheme");
        Objects.requireNonNull(precision, "precision");
        if (sequenceParallel < 1 || dataParallel < 1 || seqLen < 1 || batch < 1) {
            throw new IllegalArgumentException("a run of " + dataParallel + " x " + sequenceParallel + " ranks, " + seqLen
                    + "-token sequences, batch " + batch + ": every count must be positive");
        }
        if (batch % dataParallel != 0) {
            throw new IllegalArgumentException("batch " + batch + " does not split over " + dataParallel + " data-parallel groups");
        }
    }

    /** A run whose model states, if {@code longbow train} ran it, are whole on every rank. */
    public Run(Scheme scheme, int sequenceParallel, int dataParallel, long seqLen, int batch, boolean recompute, Precision precision,
               boolean offloadCheckpoints) {
        this(scheme, sequenceParallel, dataParallel, seqLen, batch, recompute, precision, offloadCheckpoints, false);
    }

    /** The run {@code longbow train} makes of its configuration: one group over all its ranks. */
    public static Run of(TrainConfig c) {
        return new Run(c.scheme(), c.ranks(), 1, c.seqLen(), c.batch(), c.recompute(), c.precision(), false, c.shardModelStates());
    }

    public int ranks() {
        return sequenceParallel * dataParallel;
    }

    /** Sequences each group trains per optimizer step, one after another. */
    public int sequencesPerGroup() {
        return batch / dataParallel;
    }

    /** "hybrid (ulysses 8 x ring 4)": the scheme and its settings. */
    public String schemeSettings() {
        return scheme.name() + " (" + scheme.settings(sequenceParallel) + ")";
    }

    /** The layout, recomputation, offload and sharding in words: "4 x 8 ranks, recompute, model states sharded". */
    public String settings() {
        return (dataParallel > 1 ? dataParallel + " groups x " + sequenceParallel + " ranks" : sequenceParallel + " ranks")
                + (recompute ? ", recompute" : "") + (offloadCheckpoints ? ", checkpoints in host memory" : "")
                + (shardModelStates ? ", model states sharded" : "");
    }
}
