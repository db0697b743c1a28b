package dev.longbow.train;

import dev.longbow.backend.BackendChoice;
import dev.longbow.backend.Backend;
import dev.longbow.backend.Backends;
import dev.longbow.comm.local.LocalRanks;
import dev.longbow.data.TokenSequence;
import dev.longbow.model.Llama;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.Precision;
import dev.longbow.model.SingleRankAttention;
import dev.longbow.model.Weights;
import dev.longbow.parallel.Fpdt;
import dev.longbow.parallel.Hybrid;
import dev.longbow.parallel.Ring;
import dev.longbow.parallel.Scheme;
import dev.longbow.parallel.Ulysses;
import dev.longbow.parallel.WallFacer;
import dev.longbow.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every scheme, on several ranks, gives the loss and the (all-reduced) parameter gradients that
 * one rank computing the whole sequence gives, on the same batch and parameters.
 */
class SchemeTrainingParityTest {
    private static final ModelConfig MODEL = new ModelConfig("parity", 29, 16, 2, 4, 2, 4, 24, 10000f, 1e-5f, false);
    private static final int SEQ = 16;
    private static final long SEED = 4242;

    record Result(double loss, double[] grads) {
    }

    static Stream<Object[]> schemes() {
        return Stream.of(
                new Object[]{new Ulysses(), 2},
                new Object[]{new Ulysses(), 4},
                new Object[]{new Ring(), 4},
                new Object[]{new WallFacer(2, WallFacer.Arrangement.TEAMS_ADJACENT), 4},
                new Object[]{new Fpdt(2), 2},
                new Object[]{new Hybrid(2), 4});
    }

    @ParameterizedTest(name = "{0} on {1} ranks")
    @MethodSource("schemes")
    void schemeMatchesOneRank(Scheme scheme, int ranks) {
        System.out.println("SchemeTrainingParityTest seed " + SEED);
        TokenSequence batch = batch();
        Result single = singleRank(batch);
        TrainConfig config = new TrainConfig(MODEL, scheme, ranks, SEQ, BackendChoice.CPU, 1, 1,
                OptimizerConfig.defaults(1e-3f, 0), SEED, false, 3, Precision.F32, false).validate();
        List<Result> results = LocalRanks.run(ranks, BackendChoice.CPU, (backend, comm) -> {
            try (RankTrainer trainer = new RankTrainer(config, backend, comm)) {
                randomize(trainer.model().params());
                double loss = trainer.accumulateGradients(List.of(batch));
                return new Result(loss, doubles(trainer.model().grads().flat()));
            }
        });
        double scale = 0;
        for (double g : single.grads) {
            scale = Math.max(scale, Math.abs(g));
        }
        for (int r = 0; r < ranks; r++) {
            Result got = results.get(r);
            assertEquals(single.loss, got.loss, 1e-5 * single.loss, "loss on rank " + r);
            for (int i = 0; i < single.grads.length; i++) {
                assertEquals(single.grads[i], got.grads[i], 1e-5 * scale + 1e-3 * Math.abs(single.grads[i]),
                        "gradient element " + i + " on rank " + r);
            }
        }
    }

    private static Result singleRank(TokenSequence batch) {
        try (Backend backend = Backends.open(BackendChoice.CPU, 0);
             Llama model = new Llama(MODEL, Precision.F32, backend, new SingleRankAttention(backend.attention(), backend.tensors(),
                     Llama.attentionParams(MODEL)), SEQ, 5, new boolean[MODEL.layers()])) {
            randomize(model.params());
            int[] positions = new int[SEQ];
            for (int i = 0; i < SEQ; i++) {
                positions[i] = i;
            }
            model.load(batch.tokens(), batch.targets(), positions);
            model.zeroGrads();
            int count = dev.longbow.data.Shard.countTargets(batch.targets());
            double loss = model.forwardBackward(1f / count) / count;
            return new Result(loss, doubles(model.grads().flat()));
        }
    }

    /** Parameters large enough that attention is far from uniform; the same on every rank. */
    private static void randomize(Weights params) {
        Random random = new Random(SEED);
        for (String name : params.names()) {
            Tensor t = params.get(name);
            for (long i = 0; i < t.numel(); i++) {
                t.setFloat(i, (float) (t.shape().rank() == 1 ? 1 + 0.2 * random.nextGaussian() : 0.4 * random.nextGaussian()));
            }
        }
    }

    private static TokenSequence batch() {
        Random random = new Random(SEED + 1);
        int[] tokens = new int[SEQ], targets = new int[SEQ];
        for (int i = 0; i < SEQ; i++) {
            tokens[i] = random.nextInt(MODEL.vocab());
            targets[i] = i % 7 == 3 ? -1 : random.nextInt(MODEL.vocab());
        }
        return new TokenSequence(tokens, targets);
    }

    private static double[] doubles(Tensor t) {
        double[] d = new double[(int) t.numel()];
        for (int i = 0; i < d.length; i++) {
            d[i] = t.getFloat(i);
        }
        return d;
    }
}
