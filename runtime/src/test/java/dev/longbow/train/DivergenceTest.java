package dev.longbow.train;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.checkpoint.SafeTensors;
import dev.longbow.model.Precision;
import dev.longbow.parallel.Ring;
import dev.longbow.tensor.HostAllocation;
import dev.longbow.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run that diverges (a learning rate of 1e30 turns the parameters into infinities after one
 * update) stops with a clear error instead of exiting normally, or skips the non-finite steps
 * when asked; either way every checkpoint it leaves is finite. Non-finite hyperparameters are
 * refused before any work.
 */
class DivergenceTest {
    private static TrainConfig diverging(int steps) {
        return new TrainConfig(TrainProcess.MODEL, new Ring(), 2, 16, BackendChoice.CPU, steps, 1,
                new OptimizerConfig(1e30f, 0f, 0, 0.9f, 0.95f, 1e-8f, 0f, 0f), 99, false, 8, Precision.F32, false);
    }

    private static RandomSequences data() {
        return new RandomSequences(TrainProcess.MODEL.vocab(), 16, 7);
    }

    @Test
    void aNonFiniteLossStopsTheRunAndNoNonFiniteCheckpointIsWritten(@TempDir Path dir) throws IOException {
        List<StepStats> steps = new ArrayList<>();
        RuntimeException e = assertThrows(RuntimeException.class, () -> Trainer.run(diverging(6), data(),
                new Trainer.Checkpointing(dir, 1, 1, false), steps::add, null));
        String message = rootMessage(e);
        assertTrue(message.contains(": training diverged. The parameters were not updated and no checkpoint is written from here"),
                message);
        assertTrue(message.contains("--lr") && message.contains("--on-nonfinite skip"), message);
        assertTrue(steps.stream().allMatch(s -> Double.isFinite(s.loss()) && Double.isFinite(s.gradNorm())), "only finite steps reported");
        assertFinite(dir);
    }

    @Test
    void skippingLeavesTheParametersAsTheyWereAndTheRunGoesOn(@TempDir Path dir) throws IOException {
        List<StepStats> steps = new ArrayList<>();
        Trainer.run(diverging(4), data(), new Trainer.Checkpointing(dir, 1, 1, false),
                new Trainer.Safeguards(OnNonFinite.SKIP, Duration.ofMinutes(1)), new Trainer.Listener() {
                    @Override
                    public void step(StepStats s) {
                        steps.add(s);
                    }
                }, null);
        assertEquals(4, steps.size());
        assertFalse(steps.getFirst().skipped());
        assertTrue(steps.stream().skip(1).allMatch(StepStats::skipped), "every step after the divergence skipped: " + steps);
        assertFinite(dir);
    }

    /** At least one checkpoint was written, and every value in every checkpoint is finite. */
    private static void assertFinite(Path dir) throws IOException {
        List<Path> written;
        try (var files = Files.list(dir)) {
            written = files.filter(p -> p.getFileName().toString().endsWith(".safetensors")).toList();
        }
        assertFalse(written.isEmpty(), "the state before the divergence was saved");
        for (Path file : written) {
            try (SafeTensors st = SafeTensors.open(file)) {
                for (SafeTensors.Entry entry : st.entries().values()) {
                    try (HostAllocation a = new HostAllocation(entry.end() - entry.begin())) {
                        Tensor t = HostAllocation.tensor(a, entry.dtype(), entry.shape().toArray());
                        st.copyTo(entry.name(), t);
                        for (long i = 0; i < t.numel(); i++) {
                            assertTrue(Float.isFinite(t.getFloat(i)), file + ": " + entry.name() + "[" + i + "] = " + t.getFloat(i));
                        }
                    }
                }
            }
        }
    }

    @Test
    void nonFiniteHyperparametersAreRefusedNamingTheOption() {
        var lr = assertThrows(IllegalArgumentException.class, () -> OptimizerConfig.defaults(Float.POSITIVE_INFINITY, 2));
        assertTrue(lr.getMessage().startsWith("learning rate Infinity is not a finite number: --lr takes an ordinary number"), lr.getMessage());
        var decay = assertThrows(IllegalArgumentException.class,
                () -> new OptimizerConfig(1e-3f, 1e-4f, 0, 0.9f, 0.95f, 1e-8f, Float.NaN, 1f));
        assertTrue(decay.getMessage().startsWith("weight decay NaN is not a finite number: --weight-decay"), decay.getMessage());
        var clip = assertThrows(IllegalArgumentException.class,
                () -> new OptimizerConfig(1e-3f, 1e-4f, 0, 0.9f, 0.95f, 1e-8f, 0.1f, Float.NaN));
        assertTrue(clip.getMessage().startsWith("gradient clip NaN is not a finite number: --clip"), clip.getMessage());
    }

    private static String rootMessage(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof TrainingStoppedException) {
                return t.getMessage();
            }
        }
        throw new AssertionError("not stopped by the divergence check", e);
    }
}
