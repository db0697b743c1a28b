package dev.longbow.samples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.checkpoint.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code train --config}: a run folder's run-config.json repeats the run; the command line wins; bad files are refused. */
class ConfigOptionTest {
    private static final String SHORT_RUN = "train --data passkey --seq-len 128 --ranks 2 --eval-samples 1 --warmup 1 --scheme ring ";

    @Test
    void aRunsConfigRepeatsTheRun(@TempDir Path dir) throws IOException {
        assertEquals(0, run(SHORT_RUN + "--steps 3 --seed 7 --run-dir " + dir.resolve("first"))[0]);
        Object[] again = run("train --config " + dir.resolve("first/run-config.json") + " --run-dir " + dir.resolve("again"));
        assertEquals(0, again[0], (String) again[1]);

        Map<String, Object> first = options(dir.resolve("first"));
        Map<String, Object> repeated = options(dir.resolve("again"));
        first.remove("run-dir");
        repeated.remove("run-dir");
        assertEquals(first, repeated);
        assertEquals(losses(dir.resolve("first")), losses(dir.resolve("again")));
        assertEquals(3, losses(dir.resolve("again")).size());
    }

    @Test
    void optionsOnTheCommandLineWinOverTheFile(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("options.json");
        Files.writeString(file, "{\"data\": \"passkey\", \"seq-len\": 128, \"ranks\": 2, \"eval-samples\": 1, \"scheme\": \"ulysses\","
                + " \"steps\": 5, \"recompute\": true, \"shard-model-states\": true}");
        Object[] result = run("train --config " + file + " --steps 1 --run-dir " + dir.resolve("run"));
        assertEquals(0, result[0], (String) result[1]);
        Map<String, Object> used = options(dir.resolve("run"));
        assertEquals(1L, used.get("steps"));
        assertEquals(128L, used.get("seq-len"));
        assertEquals("ulysses", used.get("scheme"));
        assertEquals(true, used.get("recompute"));
        assertEquals(true, used.get("shard-model-states"));
        assertEquals(null, used.get("config"));
    }

    @Test
    void aFileWithAnOptionTrainDoesNotHaveIsRefusedNamingIt(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("options.json");
        Files.writeString(file, "{\"ranks\": 2, \"rankz\": 4}");
        Object[] result = run("train --config " + file + " --run-dir " + dir.resolve("never"));
        assertEquals(2, result[0]);
        assertTrue(((String) result[1]).contains("'rankz' is not an option of longbow train"), (String) result[1]);
    }

    @Test
    void aFileValueIsCheckedAsTheCommandLineChecksIt(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("options.json");
        Files.writeString(file, "{\"scheme\": \"sideways\"}");
        Object[] result = run("train --config " + file + " --run-dir " + dir.resolve("never"));
        assertEquals(2, result[0]);
        assertTrue(((String) result[1]).contains("unknown scheme 'sideways'"), (String) result[1]);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> options(Path runDir) throws IOException {
        Map<String, Object> config = (Map<String, Object>) Json.parse(Files.readString(runDir.resolve("run-config.json")));
        return new LinkedHashMap<>((Map<String, Object>) config.get("options"));
    }

    @SuppressWarnings("unchecked")
    private static List<Object> losses(Path runDir) throws IOException {
        List<Object> losses = new ArrayList<>();
        for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
            losses.add(((Map<String, Object>) Json.parse(line)).get("loss"));
        }
        return losses;
    }

    /** Runs the command line with stdout captured; returns its exit code and what it wrote to stderr. */
    private static Object[] run(String commandLine) {
        StringWriter err = new StringWriter();
        CommandLine cli = Longbow.commandLine();
        cli.setErr(new PrintWriter(err));
        PrintStream stdout = System.out;
        System.setOut(new PrintStream(new ByteArrayOutputStream(), true));
        try {
            return new Object[] {cli.execute(commandLine.split(" ")), err.toString()};
        } finally {
            System.setOut(stdout);
        }
    }
}
