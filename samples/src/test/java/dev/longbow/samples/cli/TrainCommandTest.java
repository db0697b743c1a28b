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

    @Test
    void aCorruptCheckpointStopsTheResumeBeforeAnyWork(@TempDir Path dir) throws IOException {
        Files.write(dir.resolve("step-00000010.safetensors"), new byte[]{42, 0, 0, 0, 0, 0, 0, 0, '{', '}'});
        assertRefused(new String[]{"train", "--steps", "20", "--run-dir", "target/never", "--checkpoint-dir", dir.toString(),
                "--resume"}, "refusing checkpoint " + dir.resolve("step-00000010.safetensors"));
    }

    /** The tornado backend is found but TornadoVM is not loaded here: the message says what to install or add, nothing falls back. */
    @Test
    void tornadoWithoutTornadoVmSaysWhatIsMissing() {
        String err = assertRefused("train --steps 1 --run-dir target/never --backend tornado".split(" "), "backend 'tornado' cannot run here");
        assertTrue(err.contains("install TornadoVM 5.2.0") || err.contains("/tornado-argfile"), "message: " + err);
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
