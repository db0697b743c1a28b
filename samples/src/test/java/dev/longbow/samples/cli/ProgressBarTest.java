package dev.longbow.samples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.train.StepStats;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The bar is drawn before the first step, and its ETA leaves the slow warm-up step out. */
class ProgressBarTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void theBarShowsStepZeroBeforeAnyStepHasRun() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        new ProgressBar(new PrintStream(bytes, true, StandardCharsets.UTF_8), false, 10, () -> 0).start(0, 0);
        String line = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(line.startsWith("[" + ".".repeat(24) + "] 0/10  loss -"), line);
        assertTrue(line.strip().endsWith("ETA after warm-up"), line);
    }

    /**
     * A 30 s first step (compilation) then 2 s steps: after step 3 of 10 the 7 steps left take 14 s.
     * Counting the warm-up in would say 7 x (30 + 2 + 2) / 3 = 79 s.
     */
    @Test
    void theEtaIsMeasuredAfterTheWarmUpStep() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        AtomicLong now = new AtomicLong();
        ProgressBar bar = new ProgressBar(new PrintStream(bytes, true, StandardCharsets.UTF_8), false, 10, now::get);
        bar.start(0, 0);
        long[] stepEnds = {30, 32, 34};
        for (int step = 0; step < stepEnds.length; step++) {
            now.set(stepEnds[step] * SECOND);
            bar.update(new StepStats(step, 2.0, 1.0, 1e-3f, 1000, false), 0);
        }
        List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(4, lines.size(), lines.toString());
        assertTrue(lines.get(1).contains(" 1/10 ") && lines.get(1).endsWith("ETA after warm-up"), lines.get(1));
        assertTrue(lines.get(2).contains(" 2/10 ") && lines.get(2).contains("500 tok/s") && lines.get(2).endsWith("ETA 0:16"), lines.get(2));
        assertTrue(lines.get(3).contains(" 3/10 ") && lines.get(3).endsWith("ETA 0:14"), lines.get(3));
    }
}
