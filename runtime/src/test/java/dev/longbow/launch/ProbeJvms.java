package dev.longbow.launch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Starts {@link RendezvousProbe} JVMs on this machine and always takes them down again: every wait
 * is bounded and {@link #close()} destroys whatever still runs, so a failing test leaves no JVM.
 */
final class ProbeJvms implements AutoCloseable {
    private final List<Process> started = new ArrayList<>();
    private final Path logs;
    private final Map<String, String> common;

    /** All probes of one job share the master's address, the world size, the timeout and (unless overridden) the token. */
    ProbeJvms(int worldSize, int port, String token, Duration timeout) throws IOException {
        this.logs = Files.createTempDirectory("longbow-rendezvous");
        this.common = new HashMap<>(Map.of(
                "WORLD_SIZE", Integer.toString(worldSize),
                "MASTER_ADDR", "127.0.0.1",
                "MASTER_PORT", Integer.toString(port),
                RendezvousAuth.TOKEN_VARIABLE, token,
                RendezvousProbe.TIMEOUT_VARIABLE, Long.toString(timeout.toMillis())));
    }

    Process start(int rank) throws IOException {
        return start(rank, Map.of());
    }

    /** A probe with {@code RANK=rank} and the given variables replacing the common ones. */
    Process start(int rank, Map<String, String> overrides) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx64m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-cp", System.getProperty("java.class.path"), RendezvousProbe.class.getName());
        Map<String, String> env = pb.environment();
        env.clear();   // nothing from the test's own environment (RANK, SLURM_*) may leak into a probe
        env.put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
        env.putAll(common);
        env.put("RANK", Integer.toString(rank));
        env.putAll(overrides);
        Path log = logs.resolve("probe-" + started.size() + ".log");
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        Process p = pb.start();
        started.add(p);
        return p;
    }

    /** The probe's one result line ({@code ID ...} or {@code FAILED ...}), after it exits within {@code limit}. */
    String result(Process p, Duration limit) throws IOException, InterruptedException {
        if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("probe " + started.indexOf(p) + " still running after " + limit.toSeconds() + " s: "
                    + output(p));
        }
        String output = output(p);
        return output.lines().filter(l -> l.startsWith("ID ") || l.startsWith("FAILED ")).findFirst()
                .orElseThrow(() -> new AssertionError("probe " + started.indexOf(p) + " printed no result: " + output));
    }

    private String output(Process p) throws IOException {
        return Files.readString(logs.resolve("probe-" + started.indexOf(p) + ".log"));
    }

    boolean anyAlive() {
        return started.stream().anyMatch(Process::isAlive);
    }

    @Override
    public void close() throws InterruptedException {
        for (Process p : started) {
            p.destroyForcibly();
        }
        for (Process p : started) {
            p.waitFor(10, TimeUnit.SECONDS);
        }
        try (var files = Files.list(logs)) {
            for (Path f : files.toList()) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(logs);
        } catch (IOException e) {
            // a temp folder left behind is harmless
        }
    }
}
