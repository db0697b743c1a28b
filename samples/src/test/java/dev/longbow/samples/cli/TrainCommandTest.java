package dev.longbow.samples.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad configurations stop before any work with exit code 2 and a message that names the fix. */
class TrainCommandTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--scheme sideways|unknown scheme 'sideways'; choose one of [ulysses, ring, wallfacer, fpdt, hybrid]",
            "--ranks 3 --seq-len 1000|use --seq-len 1002",
            "--scheme ulysses --ranks 8 --seq-len 1024|heads 4 not divisible by ranks 8",
            "--scheme ulysses --ranks 8 --seq-len 1024|use hybrid or wallfacer",
            "--scheme wallfacer --ranks 6 --seq-len 1032 --team-size 2|not divisible by C^2 = 4",
            "--scheme ring --ranks 4 --seq-len 1036|cannot be cut into 2 x 4 = 8 equal zigzag chunks",
            "--scheme fpdt --ranks 2 --seq-len 512 --chunk-size 100|does not divide the local sequence 256",
            "--model enormous|unknown model 'enormous'; choose one of [tiny, small, base, large]",
            "--backend quantum|unknown backend 'quantum'",
            "--data /no/such/corpus|no such file or folder",
            "--resume|--resume needs --checkpoint-dir",
            "--precision bf16|the cpu backend trains in [F32] only; use --precision f32 or --backend cuda",
            "--backend cuda --precision f32|the cuda backend trains in [BF16] only; use --precision bf16",
            "--precision half|unknown precision 'half'; choose one of [f32, bf16]"})
    void badConfigurationFailsEarlyNamingTheFix(String args, String expected) {
        assertRefused(("train --steps 1 --run-dir target/never " + args).split(" "), expected);
    }

    /** Scheme options left out get defaults that fit the ranks and the sequence, the same the sample gives them. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--scheme wallfacer --ranks 8 --seq-len 1024|WallFacer[teamSize=2, arrangement=TEAMS_ADJACENT]",
            "--scheme wallfacer --ranks 2 --seq-len 1024 --arrangement rings_adjacent|WallFacer[teamSize=1, arrangement=RINGS_ADJACENT]",
            "--scheme fpdt --ranks 4 --seq-len 1024|Fpdt[chunkLen=64]",
            "--scheme fpdt --ranks 4 --seq-len 1036|Fpdt[chunkLen=259]",
            "--scheme hybrid --ranks 4 --seq-len 1024|Hybrid[ulyssesDegree=2]",
            "--scheme ring --ranks 4 --seq-len 1024 --team-size 3|Ring[]"})
    void schemeOptionsLeftOutGetDefaultsThatFit(String args, String scheme) {
        CommandLine cli = Longbow.commandLine();
        cli.parseArgs(("train " + args).split(" "));
        assertEquals(scheme, cli.getSubcommands().get("train").<TrainCommand>getCommand().configure().scheme().toString());
    }

    @Test
    void aCorruptCheckpointStopsTheResumeBeforeAnyWork(@TempDir Path dir) throws IOException {
        Files.write(dir.resolve("run1-step-00000010.safetensors"), new byte[]{42, 0, 0, 0, 0, 0, 0, 0, '{', '}'});
        assertRefused(new String[]{"train", "--steps", "20", "--run-dir", "target/never", "--checkpoint-dir", dir.toString(),
                "--resume"}, "refusing checkpoint " + dir.resolve("run1-step-00000010.safetensors"));
    }

    /** The tornado backend is found but TornadoVM is not loaded here: the message says what to install or add, nothing falls back. */
    @Test
    void tornadoWithoutTornadoVmSaysWhatIsMissing() {
        String err = assertRefused("train --steps 1 --run-dir target/never --backend tornado".split(" "), "backend 'tornado' cannot run here");
        assertTrue(err.contains("install TornadoVM 5.2.0") || err.contains("/tornado-argfile"), "message: " + err);
    }

    private static final String SHORT_RUN = "train --data passkey --seq-len 128 --ranks 2 --eval-samples 1 --warmup 1 ";

    /** Runs the command line with stdout captured; returns its exit code and what it wrote to stderr. */
    private static Object[] run(String commandLine) {
        StringWriter err = new StringWriter();
        CommandLine cli = Longbow.commandLine();
        cli.setErr(new PrintWriter(err));
        java.io.PrintStream stdout = System.out;
        System.setOut(new java.io.PrintStream(new java.io.ByteArrayOutputStream(), true));
        try {
            return new Object[] {cli.execute(commandLine.split(" ")), err.toString()};
        } finally {
            System.setOut(stdout);
        }
    }

    /** A run that diverges used to exit 0 with NaN losses (and NaN checkpoints); it stops with exit code 1 and one line. */
    @Test
    void aDivergingRunStopsWithExitCode1AndSaysWhy(@TempDir Path dir) {
        Object[] result = run(SHORT_RUN + "--steps 3 --lr 1e30 --run-dir " + dir.resolve("run"));
        String err = (String) result[1];
        assertEquals(1, result[0], err);
        assertTrue(err.startsWith("longbow train: step 1: the loss is ") && err.contains("training diverged"), err);
        assertEquals(1, err.strip().lines().count(), err);
    }

    /** Resuming into the same run folder used to truncate its metrics; they are appended after a line marking the resume. */
    @Test
    void aResumedRunAppendsItsMetricsAfterAMark(@TempDir Path dir) throws IOException {
        String where = "--run-dir " + dir.resolve("run") + " --checkpoint-dir " + dir.resolve("ckpt") + " --checkpoint-every 1";
        assertEquals(0, run(SHORT_RUN + "--steps 2 " + where)[0]);
        assertEquals(0, run(SHORT_RUN + "--steps 3 --resume " + where)[0]);
        java.util.List<String> lines = Files.readAllLines(dir.resolve("run/metrics.jsonl"));
        assertEquals(4, lines.size(), lines.toString());
        assertTrue(lines.get(0).startsWith("{\"step\":0,") && lines.get(1).startsWith("{\"step\":1,"), lines.toString());
        assertTrue(lines.get(2).startsWith("{\"resumed_at_step\":2,\"checkpoint\":"), lines.get(2));
        assertTrue(lines.get(3).startsWith("{\"step\":2,"), lines.get(3));
    }

    private static String assertRefused(String[] argv, String expected) {
        StringWriter err = new StringWriter();
        CommandLine cli = Longbow.commandLine();
        cli.setErr(new PrintWriter(err));
        long start = System.nanoTime();
        int code = cli.execute(argv);
        assertEquals(2, code, err.toString());
        assertTrue(err.toString().contains(expected), "message: " + err);
        assertTrue(System.nanoTime() - start < 5_000_000_000L, "fails before any training work");
        return err.toString();
    }
}
