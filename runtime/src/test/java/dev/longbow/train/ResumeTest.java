package dev.longbow.train;

import dev.longbow.checkpoint.Checkpoint;
import dev.longbow.checkpoint.CheckpointFolder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Stopping a run, by a failure or by SIGKILL, and resuming it reproduces the uninterrupted loss curve exactly. */
class ResumeTest {

    private static List<Double> uninterrupted() {
        List<Double> losses = new ArrayList<>();
        Trainer.run(TrainProcess.config(), new RandomSequences(TrainProcess.MODEL.vocab(), 16, 7), Trainer.Checkpointing.NONE,
                s -> losses.add(s.loss()), null);
        return losses;
    }

    @Test
    void aRunThatFailsMidwayResumesOnTheSameCurve(@TempDir Path dir) {
        List<Double> expected = uninterrupted();
        List<Double> first = new ArrayList<>();
        RuntimeException crash = assertThrows(RuntimeException.class, () -> Trainer.run(TrainProcess.config(),
                new RandomSequences(TrainProcess.MODEL.vocab(), 16, 7), new Trainer.Checkpointing(dir, 3, 100, false), s -> {
                    first.add(s.loss());
                    if (s.step() == 10) {
                        throw new IllegalStateException("simulated crash after step 10");
                    }
                }, null));
        assertTrue(crash.getMessage().contains("simulated crash"), crash.getMessage());
        List<Double> second = new ArrayList<>();
        Trainer.run(TrainProcess.config(), new RandomSequences(TrainProcess.MODEL.vocab(), 16, 7),
                new Trainer.Checkpointing(dir, 3, 100, true), s -> second.add(s.loss()), null);
        // Checkpoints after steps 3, 6, 9: the crash at step 10 loses step 9 and 10, which are redone.
        assertEquals(expected.subList(0, 11), first);
        assertEquals(expected.subList(9, expected.size()), second);
    }

    @Test
    void aKilledProcessResumesOnTheSameCurve(@TempDir Path dir) throws Exception {
        List<Double> expected = uninterrupted();
        Process child = start(dir, "fresh");
        Map<Integer, Double> before = new TreeMap<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream()))) {
            for (String line; (line = out.readLine()) != null; ) {
                record(line, before);
                if (line.equals("checkpoint 9")) {
                    child.destroyForcibly(); // SIGKILL: no shutdown hooks, no finally blocks
                    break;
                }
            }
        }
        assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        assertTrue(child.exitValue() != 0, "the child was killed, not finished");
        var runs = CheckpointFolder.scan(dir).runs();
        assertEquals(1, runs.size(), "one run: " + runs);
        Path latest = runs.values().iterator().next().getLast();
        assertNotNull(latest);
        int resumedAt = Checkpoint.stepOf(latest);
        Process again = start(dir, "resume");
        Map<Integer, Double> after = new TreeMap<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(again.getInputStream()))) {
            for (String line; (line = out.readLine()) != null; ) {
                record(line, after);
            }
        }
        assertEquals(0, again.waitFor(), "the resumed run finishes");
        assertEquals(resumedAt, after.keySet().iterator().next(), "resumes after the newest checkpoint");
        before.forEach((step, loss) -> assertEquals(expected.get(step), loss, "step " + step + " before the kill"));
        after.forEach((step, loss) -> assertEquals(expected.get(step), loss, "step " + step + " after resuming"));
        assertEquals(TrainProcess.STEPS, after.size() + resumedAt);
    }

    private static void record(String line, Map<Integer, Double> losses) {
        if (line.startsWith("step ")) {
            String[] parts = line.split(" ");
            losses.put(Integer.parseInt(parts[1]), Double.parseDouble(parts[2]));
        }
    }

    private static Process start(Path dir, String mode) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                TrainProcess.class.getName(), dir.toString(), mode));
        return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    }
}
