package dev.longbow.bindings;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Compiles and runs a small C program with the system's C compiler: the independent reference
 * the bindings are checked against (the compiler's own sizeof, offsetof and constant values).
 */
final class CProbe {
    private CProbe() {
    }

    /** The C compiler on PATH, or null. */
    static String compiler() {
        for (String name : List.of("gcc", "cc")) {
            for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
                if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
                    return Path.of(dir, name).toString();
                }
            }
        }
        return null;
    }

    /**
     * Compiles {@code source} (which prints lines "KEY VALUE") with the include dirs and runs
     * it; returns the printed values by key.
     */
    static Map<String, Long> run(String source, List<Path> includeDirs, Path workDir) throws IOException, InterruptedException {
        Path c = workDir.resolve("probe.c");
        Path exe = workDir.resolve("probe");
        Files.writeString(c, source);
        List<String> command = new ArrayList<>(List.of(compiler(), "-std=gnu11", "-o", exe.toString(), c.toString()));
        for (Path dir : includeDirs) {
            command.add("-I" + dir);
        }
        String compileOutput = exec(command);
        String output = exec(List.of(exe.toString()));
        Map<String, Long> values = new LinkedHashMap<>();
        for (String line : output.split("\n")) {
            String[] parts = line.strip().split(" ");
            if (parts.length == 2) {
                values.put(parts[0], Long.parseLong(parts[1]));
            }
        }
        if (values.isEmpty()) {
            throw new IllegalStateException("probe printed nothing; compiler said:\n" + compileOutput);
        }
        return values;
    }

    private static String exec(List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed:\n" + output);
        }
        return output;
    }
}
