package dev.longbow.train;

import dev.longbow.backend.Backend;
import dev.longbow.backend.BackendChoice;
import dev.longbow.backend.Backends;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.Precision;
import dev.longbow.model.UnitLayout;
import dev.longbow.model.Weights;
import dev.longbow.parallel.Ring;
import dev.longbow.parallel.Scheme;
import dev.longbow.parallel.Ulysses;
import dev.longbow.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sharded model states (ZeRO-3) train exactly as replicated ones: the same losses and, after
 * the same steps, the same parameters (gathered whole from the shards), to within fp32
 * reduction order; a checkpoint written by either resumes in the other and continues as an
 * uninterrupted run.
 */
class ShardedTrainingTest {
    /** Untied: the tail unit holds the head; vocab and dims make units that do not divide by 3 or 4 ranks. */
    static final ModelConfig UNTIED = new ModelConfig("untied", 37, 16, 2, 4, 2, 4, 24, 10000f, 1e-5f, false);
    private static final int SEQ = 24;
    private static final int STEPS = 3;

    /** Tied and untied, 2 to 4 ranks; with recomputation, whose forward in backward computes from the layer's second gather. */
    static Stream<Arguments> runs() {
        return Stream.of(Arguments.of(new Ulysses(), 2, TrainProcess.MODEL, false), Arguments.of(new Ring(), 4, TrainProcess.MODEL, false),
                Arguments.of(new Ulysses(), 2, UNTIED, false), Arguments.of(new Ring(), 3, UNTIED, false),
                Arguments.of(new Ring(), 2, UNTIED, true));
    }

    static TrainConfig config(ModelConfig model, Scheme scheme, int ranks, int steps, boolean sharded) {
        return config(model, scheme, ranks, steps, sharded, false);
    }

    static TrainConfig config(ModelConfig model, Scheme scheme, int ranks, int steps, boolean sharded, boolean recompute) {
        // batch 2: two micro-batches accumulate into the gradient shards; clip 0.05: the norm is summed over shards and clips;
        // a constant rate after warmup: a run stopped early has the schedule of the run it is part of
        OptimizerConfig o = new OptimizerConfig(3e-2f, 3e-3f, 1, 0.9f, 0.95f, 1e-8f, 0.1f, 0.05f, LrSchedule.parse("constant", 0.2));
        return TrainConfig.builder(model, scheme).ranks(ranks).seqLen(SEQ).steps(steps).batch(2).optimizer(o).seed(5)
                .chunkRows(8).precision(Precision.F32).recompute(recompute).shardModelStates(sharded).build();
    }

    /** Losses of every step and rank 0's whole parameters after the last. */
    record Trained(List<Double> losses, double[] params) {
    }

    static Trained train(TrainConfig config, Path checkpoints, boolean resume) {
        List<Double> losses = new ArrayList<>();
        Trainer.Checkpointing c = checkpoints == null ? Trainer.Checkpointing.NONE
                : new Trainer.Checkpointing(checkpoints, STEPS, 10, resume, "run", OnSaveFailure.STOP);
        double[] params = Trainer.run(config, new RandomSequences(config.model().vocab(), SEQ, 11), c, s -> losses.add(s.loss()),
                ShardedTrainingTest::wholeParams).finish();
        return new Trained(losses, params);
    }

    /** Every rank takes part in the gather; rank 0 returns the parameters. */
    static double[] wholeParams(RankTrainer trainer) {
        double[][] params = {null};
        trainer.withCheckpointState(state -> params[0] = doubles(state.params().flat()));
        return params[0];
    }

    @ParameterizedTest(name = "{0} on {1} ranks, {2}, recompute {3}")
    @MethodSource("runs")
    void shardedTrainingGivesTheReplicatedLossesAndParameters(Scheme scheme, int ranks, ModelConfig model, boolean recompute) {
        UnitLayout layout = UnitLayout.of(model, ranks);
        assertTrue(layout.units().stream().anyMatch(u -> u.padded(ranks) > u.length()), "some unit is padded to a multiple of the ranks");
        Trained replicated = train(config(model, scheme, ranks, STEPS, false, recompute), null, false);
        Trained sharded = train(config(model, scheme, ranks, STEPS, true, recompute), null, false);
        assertClose(replicated, sharded);
        double moved = 0;
        try (Backend cpu = Backends.open(BackendChoice.CPU, 0); Weights init = Weights.allocateOnHost(model)) {
            init.initialize(5, cpu);
            double[] start = doubles(init.flat());
            for (int i = 0; i < start.length; i++) {
                moved = Math.max(moved, Math.abs(start[i] - sharded.params[i]));
            }
        }
        assertTrue(moved > 1e-3, "the steps moved the parameters (by " + moved + ")");
    }

    @Test
    void aShardedCheckpointResumesReplicatedAndBackAsAnUninterruptedRun(@TempDir Path shardedFirst, @TempDir Path replicatedFirst) {
        Scheme scheme = new Ulysses();
        Trained whole = train(config(UNTIED, scheme, 2, 2 * STEPS, false), null, false);

        train(config(UNTIED, scheme, 2, STEPS, true), shardedFirst, false);
        Trained thenReplicated = train(config(UNTIED, scheme, 2, 2 * STEPS, false), shardedFirst, true);
        assertClose(new Trained(whole.losses.subList(STEPS, 2 * STEPS), whole.params), thenReplicated);

        train(config(UNTIED, scheme, 2, STEPS, false), replicatedFirst, false);
        Trained thenSharded = train(config(UNTIED, scheme, 2, 2 * STEPS, true), replicatedFirst, true);
        assertClose(new Trained(whole.losses.subList(STEPS, 2 * STEPS), whole.params), thenSharded);
    }

    /** Losses and parameters equal to within fp32 reduction order. */
    static void assertClose(Trained expected, Trained got) {
        assertEquals(expected.losses.size(), got.losses.size());
        for (int s = 0; s < expected.losses.size(); s++) {
            assertEquals(expected.losses.get(s), got.losses.get(s), 1e-5 * Math.abs(expected.losses.get(s)), "loss of step " + s);
        }
        assertEquals(expected.params.length, got.params.length);
        for (int i = 0; i < expected.params.length; i++) {
            assertEquals(expected.params[i], got.params[i], 1e-5 + 1e-4 * Math.abs(expected.params[i]), "parameter element " + i);
        }
    }

    static double[] doubles(Tensor t) {
        double[] d = new double[(int) t.numel()];
        for (int i = 0; i < d.length; i++) {
            d[i] = t.getFloat(i);
        }
        return d;
    }
}
