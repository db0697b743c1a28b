package dev.longbow.bench;

import dev.longbow.backend.BackendChoice;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.openjdk.jmh.Main;

/**
 * The main class of {@code benchmarks.jar}: JMH's runner, with three differences so that running
 * every benchmark without a filter either works or fails visibly.
 * <ul>
 *   <li>A benchmark that throws fails the run with a non-zero exit ({@code -foe true}, JMH's
 *       default is to go on and exit 0), unless {@code -foe} is given.</li>
 *   <li>The TornadoVM benchmarks are left out, with a line saying why, when TornadoVM cannot run
 *       here (the jar was not started with its argfile).</li>
 *   <li>When the JVM lacks the Vector API module (a plain {@code java -jar}), it starts itself
 *       again with {@code --add-modules jdk.incubator.vector}, so that the CPU backend's kernels
 *       load, here and in JMH's forks (which inherit this JVM's flags).</li>
 * </ul>
 */
public final class BenchMain {
    private static final String VECTOR = "jdk.incubator.vector";

    private BenchMain() {
    }

    public static void main(String[] args) throws Exception {
        if (ModuleLayer.boot().findModule(VECTOR).isEmpty()) {
            System.exit(relaunchWithVectorApi(args));
        }
        List<String> jmh = new ArrayList<>(Arrays.asList(args));
        if (!jmh.contains("-foe")) {
            jmh.addAll(0, List.of("-foe", "true"));
        }
        String tornado = BackendChoice.TORNADO.unavailableReason();
        if (tornado != null && !jmh.contains("-l") && !jmh.contains("-h")) {
            System.out.println("TornadoAttentionBenchmark skipped: " + tornado);
            jmh.addAll(List.of("-e", "TornadoAttentionBenchmark"));
        }
        Main.main(jmh.toArray(String[]::new));
    }

    private static int relaunchWithVectorApi(String[] args) throws IOException, InterruptedException, URISyntaxException {
        Path jar = Path.of(BenchMain.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", VECTOR, "--enable-native-access=ALL-UNNAMED", "-cp", jar.toString(), BenchMain.class.getName()));
        command.addAll(Arrays.asList(args));
        return new ProcessBuilder(command).inheritIO().start().waitFor();
    }
}
