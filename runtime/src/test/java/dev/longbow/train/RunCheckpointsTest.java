package dev.longbow.train;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.checkpoint.CheckpointFolder;
import dev.longbow.model.Precision;
import dev.longbow.parallel.Ring;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoints belong to a run: runs sharing a folder leave each other's checkpoints alone, a
 * resume continues the run it names (or the only one there) and refuses when it finds nothing,
 * partial files of interrupted writes are removed at the start, an unusable folder is refused
 * before any work, and a failed save keeps the training state and the files on disk as they were.
 */
class RunCheckpointsTest {
    @TempDir
    Path dir;

    private static TrainConfig config(int steps) {
        return new TrainConfig(TrainProcess.MODEL, new Ring(), 2, 16, BackendChoice.CPU, steps, 1,
                OptimizerConfig.defaults(3e-3f, 2), 99, false, 8, Precision.F32, false);
    }

    private static RandomSequences data() {
        return new RandomSequences(TrainProcess.MODEL.vocab(), 16, 7);
    }

    /** Runs and returns the losses and every notice. */
    private static List<String> train(int steps, Trainer.Checkpointing c, List<Double> losses) {
        List<String> notices = new ArrayList<>();
        Trainer.run(config(steps), data(), c, new Trainer.Listener() {
            @Override
            public void step(StepStats s) {
                losses.add(s.loss());
            }

            @Override
            public void notice(String message) {
                notices.add(message);
            }
        }, null);
        return notices;
    }

    private List<String> files() throws IOException {
        try (var list = Files.list(dir)) {
            return list.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().toList();
        }
    }

    @Test
    void aSecondRunInTheFolderKeepsTheFirstRunsCheckpointsAndAResumeMustChoose() throws IOException {
        train(6, new Trainer.Checkpointing(dir, 2, 3, false, "first", OnSaveFailure.STOP), new ArrayList<>());
        byte[] firstNewest = Files.readAllBytes(dir.resolve("first-step-00000006.safetensors"));
        List<String> notices = train(2, new Trainer.Checkpointing(dir, 1, 3, false), new ArrayList<>());
        assertTrue(notices.stream().anyMatch(n -> n.contains("also holds checkpoints of [first]")), notices.toString());
        List<String> names = files();
        assertTrue(names.containsAll(List.of("first-step-00000002.safetensors", "first-step-00000004.safetensors",
                "first-step-00000006.safetensors")), names.toString());
        assertArrayEquals(firstNewest, Files.readAllBytes(dir.resolve("first-step-00000006.safetensors")));
        assertEquals(5, names.size(), "three of the first run, two of the second: " + names);

        var e = assertThrows(IllegalArgumentException.class,
                () -> train(6, new Trainer.Checkpointing(dir, 2, 3, true), new ArrayList<>()));
        assertTrue(e.getMessage().startsWith("--resume: " + dir + " holds checkpoints of 2 runs: "), e.getMessage());
        assertTrue(e.getMessage().endsWith("; pass --run-id with the run to continue"), e.getMessage());

        List<Double> resumed = new ArrayList<>();
        train(8, new Trainer.Checkpointing(dir, 2, 3, true, "first", OnSaveFailure.STOP), resumed);
        assertEquals(2, resumed.size(), "the first run continued at step 6 of 8");
    }

    @Test
    void aFreshRunWithATakenIdIsRefused() {
        train(2, new Trainer.Checkpointing(dir, 1, 3, false, "mine", OnSaveFailure.STOP), new ArrayList<>());
        var e = assertThrows(IllegalArgumentException.class,
                () -> train(2, new Trainer.Checkpointing(dir, 1, 3, false, "mine", OnSaveFailure.STOP), new ArrayList<>()));
        assertEquals("run mine already has checkpoints in " + dir + " (2 of them); pass --resume to continue it, or choose another "
                + "--run-id", e.getMessage());
    }

    @Test
    void aResumeThatFindsNothingIsRefusedSayingWhatWasFound() throws IOException {
        Path missing = dir.resolve("typo");
        var e = assertThrows(IllegalArgumentException.class, () -> train(2, new Trainer.Checkpointing(missing, 1, 3, true), new ArrayList<>()));
        assertEquals("--resume: " + missing + " holds no checkpoint to resume; it holds nothing (the folder does not exist). "
                + "Check --checkpoint-dir, or start without --resume", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> train(2, new Trainer.Checkpointing(dir, 1, 3, true), new ArrayList<>()));
        assertTrue(e.getMessage().contains("it holds nothing (the folder is empty)"), e.getMessage());
        Files.write(dir.resolve("a-step-00000004.safetensors.8812.tmp"), new byte[100]);
        e = assertThrows(IllegalArgumentException.class, () -> train(2, new Trainer.Checkpointing(dir, 1, 3, true), new ArrayList<>()));
        assertTrue(e.getMessage().contains("it holds 1 partial file of interrupted writes (a-step-00000004.safetensors.8812.tmp)"),
                e.getMessage());
    }

    @Test
    void partialFilesOfInterruptedWritesAreRemovedAtTheStartAndNamed() throws IOException {
        try (CheckpointFolder busy = CheckpointFolder.open(dir, "busy", 0)) {   // a run still writing there
            Files.write(dir.resolve("gone-step-00000003.safetensors.123.tmp"), new byte[1000]);
            Files.write(dir.resolve("step-00000009.safetensors4711.tmp"), new byte[1000]);   // an older version's
            Path live = dir.resolve("busy-step-00000005.safetensors.77.tmp");
            Files.write(live, new byte[1000]);
            List<String> notices = train(1, new Trainer.Checkpointing(dir, 1, 3, false), new ArrayList<>());
            assertTrue(notices.contains("removed 2 partial checkpoint files left by interrupted writes: "
                    + "[gone-step-00000003.safetensors.123.tmp, step-00000009.safetensors4711.tmp]"), notices.toString());
            assertTrue(Files.exists(live), "the partial file of a run that is still running stays");
        }
        assertFalse(Files.exists(dir.resolve("gone-step-00000003.safetensors.123.tmp")));
    }

    @Test
    void aFolderThatCannotBeWrittenIsRefusedBeforeAnyStep() throws IOException {
        Path file = Files.write(dir.resolve("a-file"), new byte[1]);
        List<Double> losses = new ArrayList<>();
        var e = assertThrows(IllegalArgumentException.class, () -> train(2, new Trainer.Checkpointing(file, 1, 3, false), losses));
        assertEquals("checkpoint folder " + file + " is a file, not a folder; choose another --checkpoint-dir", e.getMessage());
        Path underProc = Path.of("/proc/longbow-checkpoints");
        e = assertThrows(IllegalArgumentException.class, () -> train(2, new Trainer.Checkpointing(underProc, 1, 3, false), losses));
        assertTrue(e.getMessage().startsWith("cannot create checkpoint folder /proc/longbow-checkpoints: "), e.getMessage());
        assertTrue(losses.isEmpty(), "no step ran");
    }

    /** The folder vanishes under the run (a disk unmounted, a full disk): the save fails and the run stops, naming step and folder. */
    @Test
    void aFailedSaveStopsTheRunNamingTheStepAndTheNewestCheckpoint() {
        var e = assertThrows(RuntimeException.class, () -> Trainer.run(config(6), data(),
                new Trainer.Checkpointing(dir, 2, 3, false, "r", OnSaveFailure.STOP), s -> {
                    if (s.step() == 2) {
                        replaceWithFile(dir);
                    }
                }, null));
        TrainingStoppedException stop = cause(e);
        assertTrue(stop.getMessage().startsWith("could not write the checkpoint of step 4 to " + dir + ": "), stop.getMessage());
        assertTrue(stop.getMessage().contains("The run stopped with its checkpoints as they were (newest: " + dir.resolve("r-step-00000002.safetensors")),
                stop.getMessage());
    }

    /**
     * With retry, a save that fails is reported and the next one succeeds; the state was never
     * touched, so the run ends on the uninterrupted curve with the same final checkpoint, bit for bit.
     */
    @Test
    void aFailedSaveIsRetriedAtTheNextSaveWhenAsked(@TempDir Path undisturbed) throws IOException {
        List<Double> expected = new ArrayList<>();
        train(6, new Trainer.Checkpointing(undisturbed, 2, 3, false, "r", OnSaveFailure.STOP), expected);
        List<Double> losses = new ArrayList<>();
        List<String> notices = new ArrayList<>();
        Trainer.run(config(6), data(), new Trainer.Checkpointing(dir, 2, 3, false, "r", OnSaveFailure.CONTINUE), new Trainer.Listener() {
            @Override
            public void step(StepStats s) {
                losses.add(s.loss());
                if (s.step() == 2) {
                    replaceWithFile(dir);
                } else if (s.step() == 4) {
                    restoreFolder(dir);
                }
            }

            @Override
            public void notice(String message) {
                notices.add(message);
            }
        }, null);
        assertEquals(expected, losses);
        assertTrue(notices.stream().anyMatch(n -> n.startsWith("could not write the checkpoint of step 4 to " + dir)
                && n.contains("training goes on and the next save tries again")), notices.toString());
        assertEquals(List.of("r-step-00000006.safetensors"), files());
        assertArrayEquals(Files.readAllBytes(undisturbed.resolve("r-step-00000006.safetensors")),
                Files.readAllBytes(dir.resolve("r-step-00000006.safetensors")));
    }

    private static TrainingStoppedException cause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof TrainingStoppedException stop) {
                return stop;
            }
        }
        throw new AssertionError("no TrainingStoppedException in", e);
    }

    private static void replaceWithFile(Path dir) {
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) {
                Files.delete(p);
            }
            Files.delete(dir);
            Files.write(dir, new byte[1]);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void restoreFolder(Path dir) {
        try {
            Files.delete(dir);
            Files.createDirectory(dir);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void runIdsThatCannotNameFilesAreRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> new Trainer.Checkpointing(dir, 1, 1, false, "../x", OnSaveFailure.STOP));
        assertTrue(e.getMessage().startsWith("run id '../x' must be 1 to 64 letters, digits"), e.getMessage());
    }
}
