package dev.longbow.model;

import dev.longbow.backend.BackendChoice;
import dev.longbow.backend.Backend;
import dev.longbow.backend.Backends;
import dev.longbow.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The model's loss against an independent float64 forward ({@link ReferenceLlama}), and its
 * analytic gradients against central finite differences of that float64 loss.
 */
class LlamaGradientTest {
    private static final int SEQ = 12;

    static ModelConfig config(boolean tied) {
        return new ModelConfig("check", 23, 16, 2, 4, 2, 4, 24, 10000f, 1e-5f, tied);
    }

    /** A model on the CPU backend at P = 1 with random (not small) parameters and a loaded batch. */
    record Fixture(Backend backend, Llama model, int[] tokens, int[] targets, int[] positions, int count) implements AutoCloseable {
        static Fixture create(ModelConfig c, long seed, int chunkRows, boolean recompute) {
            System.out.println("LlamaGradientTest seed " + seed);
            Random random = new Random(seed);
            Backend backend = Backends.open(BackendChoice.CPU, 0);
            boolean[] flags = new boolean[c.layers()];
            java.util.Arrays.fill(flags, recompute);
            Llama model = new Llama(c, Precision.F32, backend, new SingleRankAttention(backend.attention(), backend.tensors(),
                    Llama.attentionParams(c)), SEQ, chunkRows, flags);
            for (String name : model.params().names()) {
                Tensor t = model.params().get(name);
                boolean gain = t.shape().rank() == 1;
                for (long i = 0; i < t.numel(); i++) {
                    t.setFloat(i, (float) (gain ? 1 + 0.2 * random.nextGaussian() : 0.4 * random.nextGaussian()));
                }
            }
            int[] tokens = new int[SEQ], targets = new int[SEQ], positions = new int[SEQ];
            int count = 0;
            for (int i = 0; i < SEQ; i++) {
                tokens[i] = random.nextInt(c.vocab());
                targets[i] = i % 5 == 2 ? -1 : random.nextInt(c.vocab());
                positions[i] = i;
                count += targets[i] >= 0 ? 1 : 0;
            }
            model.load(tokens, targets, positions);
            return new Fixture(backend, model, tokens, targets, positions, count);
        }

        Map<String, double[]> parameters() {
            Map<String, double[]> map = new HashMap<>();
            for (String name : model.params().names()) {
                map.put(name, doubles(model.params().get(name)));
            }
            return map;
        }

        @Override
        public void close() {
            model.close();
            backend.close();
        }
    }

    static double[] doubles(Tensor t) {
        double[] d = new double[(int) t.numel()];
        for (int i = 0; i < d.length; i++) {
            d[i] = t.getFloat(i);
        }
        return d;
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void gradientsMatchFiniteDifferencesOfTheFloat64Model(boolean tied) {
        ModelConfig c = config(tied);
        long seed = tied ? 101 : 202;
        try (Fixture f = Fixture.create(c, seed, 5, false)) {
            f.model.zeroGrads();
            double loss = f.model.forwardBackward(1f / f.count) / f.count;
            Map<String, double[]> params = f.parameters();
            ReferenceLlama reference = new ReferenceLlama(c, params);
            assertEquals(reference.loss(f.tokens, f.targets, f.positions), loss, 1e-5 * Math.abs(loss), "loss");
            Random pick = new Random(seed);
            double h = 1e-5;
            for (String name : f.model.params().names()) {
                double[] values = params.get(name);
                Tensor grad = f.model.grads().get(name);
                for (int sample = 0; sample < 6; sample++) {
                    int i = pick.nextInt(values.length);
                    double saved = values[i];
                    values[i] = saved + h;
                    double plus = reference.loss(f.tokens, f.targets, f.positions);
                    values[i] = saved - h;
                    double minus = reference.loss(f.tokens, f.targets, f.positions);
                    values[i] = saved;
                    double numeric = (plus - minus) / (2 * h);
                    assertEquals(numeric, grad.getFloat(i), 1e-5 + 2e-3 * Math.abs(numeric), name + "[" + i + "]");
                }
            }
        }
    }

    @Test
    void recomputingLayersGivesTheSameLossAndGradientsBitForBit() {
        ModelConfig c = config(false);
        try (Fixture kept = Fixture.create(c, 303, 5, false); Fixture recomputed = Fixture.create(c, 303, 5, true)) {
            kept.model.zeroGrads();
            recomputed.model.zeroGrads();
            assertEquals(kept.model.forwardBackward(0.1f), recomputed.model.forwardBackward(0.1f));
            assertArrayEquals(doubles(kept.model.grads().flat()), doubles(recomputed.model.grads().flat()));
        }
    }
}
