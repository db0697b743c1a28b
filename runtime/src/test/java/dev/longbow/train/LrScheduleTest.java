package dev.longbow.train;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each schedule's shape at the points that define it: 110 steps, warmup 10, lr 1, min lr 0.1. */
class LrScheduleTest {
    private static float at(String name, int step) {
        return LrSchedule.parse(name, 0.2).lrAt(step, 110, 1f, 0.1f, 10);
    }

    @Test
    void everyScheduleWarmsUpLinearly() {
        for (String name : LrSchedule.NAMES) {
            assertEquals(0.1f, at(name, 0), 1e-6, name);
            assertEquals(0.5f, at(name, 4), 1e-6, name);
            assertEquals(1f, at(name, 10), 1e-6, name);
        }
    }

    @Test
    void eachDecaysByItsShape() {
        assertEquals(0.55f, at("cosine", 60), 1e-6);            // half way: the cosine's midpoint
        assertEquals(0.1f, at("cosine", 110), 1e-6);
        assertEquals(0.55f, at("linear", 60), 1e-6);
        assertEquals(0.325f, at("linear", 85), 1e-6);           // three quarters: not the cosine's 0.232
        assertEquals(1f, at("constant", 109), 1e-6);
        assertEquals(1f, at("wsd", 90), 1e-6);                  // stable until the last 20% of the 100 steps after warmup
        assertEquals(0.55f, at("wsd", 100), 1e-6);              // half way through the decay
        assertEquals(0.1f, at("wsd", 110), 1e-6);
        assertTrue(at("cosine", 85) < at("linear", 85));
    }

    @Test
    void theOldConstructorKeepsCosineAndBadNamesAreRefused() {
        OptimizerConfig o = new OptimizerConfig(1f, 0.1f, 10, 0.9f, 0.95f, 1e-8f, 0.1f, 1f);
        assertEquals(new LrSchedule.Cosine(), o.schedule());
        assertEquals(at("cosine", 37), o.lrAt(37, 110));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LrSchedule.parse("step", 0.2)).getMessage()
                .contains("choose one of [cosine, linear, constant, wsd]"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LrSchedule.parse("wsd", 0)).getMessage()
                .contains("--decay-fraction 0.2"));
    }
}
