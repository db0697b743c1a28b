package dev.longbow.plan;

import dev.longbow.backend.BackendChoice;
import dev.longbow.comm.Traffic;
import dev.longbow.comm.local.LocalRanks;
import dev.longbow.data.TokenSequence;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.Precision;
import dev.longbow.parallel.Ring;
import dev.longbow.train.MemoryEstimate;
import dev.longbow.train.OnNonFinite;
import dev.longbow.train.RandomSequences;
import dev.longbow.train.RankTrainer;
import dev.longbow.train.TrainConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The planner prices {@code longbow train --shard-model-states} as the trainer runs it: the
 * memory is the trainer's estimate, and the bytes a rank sends for the model states in a step
 * (what a sharded step sends beyond a replicated one of the same scheme, whose attention
 * traffic is the same) are what {@link LongbowStack}'s layer and step traffic say, the ranks
 * counting every transfer as a ring moves it.
 */
class ShardedTrafficTest {
    /** Views of whole 256-byte blocks, layers that split evenly over 2 and 4 ranks: only the tail's shards are padded. */
    private static final ModelConfig MODEL = new ModelConfig("traffic", 128, 128, 2, 4, 2, 32, 256, 10000f, 1e-5f, false);
    private static final int SEQ = 32;
    private static final int BATCH = 2;

    @ParameterizedTest(name = "{0} ranks")
    @ValueSource(ints = {2, 4})
    void aShardedStepSendsWhatThePlannerPrices(int ranks) {
        TrainConfig sharded = config(ranks, true);
        TrainConfig replicated = config(ranks, false);
        double measured = sentInAStep(sharded) - sentInAStep(replicated);

        ClusterSpec cpu = ClusterSpec.cpu(ranks, 1L << 34, 1e9, 1e-6, 1e9, AttentionRates.constant(1e9, 1e9));
        ModelShape model = ModelShape.of(MODEL);
        LongbowStack stack = new LongbowStack();
        Run run = Run.of(sharded);
        double planned = MODEL.layers() * BATCH * stack.layerTraffic(run, model, cpu).bytesSent()
                + stack.stepTraffic(run, model, cpu).bytesSent() - stack.stepTraffic(Run.of(replicated), model, cpu).bytesSent();
        // not priced: the padding of the tail's shards to 256-byte blocks, the norm gains (ModelShape counts matrices) and
        // the gradient norm's one-float all-reduce, together 0.2% here
        assertEquals(planned, measured, 0.005 * planned, "bytes a rank sends for sharded model states in a step");
        assertEquals(MemoryEstimate.of(sharded).modelStates(),
                stack.memory(run, model, run.scheme().schedule(ranks, sharded.attentionShape()), cpu).states(),
                "the planner's model states are the trainer's estimate");
    }

    private static TrainConfig config(int ranks, boolean shard) {
        return TrainConfig.builder(MODEL, new Ring()).ranks(ranks).seqLen(SEQ).steps(1).batch(BATCH).chunkRows(16)
                .precision(Precision.F32).shardModelStates(shard).build();
    }

    /** The most any rank sends in one step. */
    private static double sentInAStep(TrainConfig config) {
        RandomSequences data = new RandomSequences(MODEL.vocab(), SEQ, 3);
        List<TokenSequence> batch = List.of(data.next(), data.next());
        List<Long> sent = LocalRanks.run(config.ranks(), BackendChoice.CPU, (backend, comm) -> {
            try (RankTrainer trainer = new RankTrainer(config, backend, comm)) {
                Traffic before = comm.traffic();
                trainer.step(0, batch, OnNonFinite.STOP);
                return comm.traffic().minus(before).bytesSent();
            }
        });
        return sent.stream().mapToLong(Long::longValue).max().orElseThrow();
    }
}
