package dev.longbow.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Generation's token-at-a-time path against the training model's forward over the whole sequence. */
class KvCacheDecoderTest {

    /** Teacher-forced through the cache, every position's logits give the training forward's loss. */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void theCacheGivesTheTrainingForwardsLoss(boolean tied) {
        ModelConfig c = LlamaGradientTest.config(tied);
        try (LlamaGradientTest.Fixture f = LlamaGradientTest.Fixture.create(c, tied ? 5 : 6, 5, false)) {
            double expected = f.model().forwardLoss() / f.count();
            KvCacheDecoder decoder = new KvCacheDecoder(f.model().params(), f.tokens().length);
            double sum = 0;
            for (int i = 0; i < f.tokens().length; i++) {
                float[] logits = decoder.next(f.tokens()[i]);
                if (f.targets()[i] >= 0) {
                    double max = Double.NEGATIVE_INFINITY, z = 0;
                    for (float v : logits) {
                        max = Math.max(max, v);
                    }
                    for (float v : logits) {
                        z += Math.exp(v - max);
                    }
                    sum += max + Math.log(z) - logits[f.targets()[i]];
                }
            }
            assertEquals(expected, sum / f.count(), 1e-5 * expected);
            assertThrows(IllegalStateException.class, () -> decoder.next(0), "the cache is full");
        }
    }

    @Test
    void greedyTakesTheLargestAndTopPKeepsTheNucleus() {
        float[] logits = {0f, 3f, 1f, 2.9f};
        SplittableRandom random = new SplittableRandom(1);
        assertEquals(1, Sampling.GREEDY.pick(logits, random));
        assertEquals(1, new Sampling(1, 1e-6).pick(logits, random), "a tiny nucleus is the top token");
        int[] seen = new int[4];
        for (int i = 0; i < 4000; i++) {
            seen[new Sampling(1, 0.8).pick(logits, random)]++;
        }
        assertEquals(0, seen[0] + seen[2], "tokens outside the 80% nucleus are never drawn");
        assertTrue(Math.abs(seen[1] / 4000.0 - Math.exp(0.1) / (1 + Math.exp(0.1))) < 0.03, "drawn in proportion: " + seen[1]);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sampling(1, 0)).getMessage().contains("--top-p 0.9"));
    }
}
