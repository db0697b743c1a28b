package dev.longbow.bench;

import dev.longbow.backend.BackendChoice;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.nio.file.Files;
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
 *   <li>What needs software this machine lacks is left out, with a line saying why: the TornadoVM
 *       benchmark when TornadoVM cannot run here (the jar was not started with its argfile), and
 *       GemmBenchmark's OpenBLAS peer when the library is not installed.</li>
 *   <li>When the JVM lacks the Vector API module (a plain {@code java -jar}), it starts itself
 *       again with {@code --add-modules jdk.incubator.vector}, so that the CPU backend's kernels
 *       load, here and in JMH's forks (which inherit this JVM's flags).</li>
 * </ul>
 */
public final class BenchMain {
    private static final String VECTOR = "jdk.incubator.vector";
    /** Where GemmBenchmark's OpenBLAS peer looks unless -Dopenblas says (OpenBlas.DEFAULT, package-private there). */
    private static final String OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0";

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
        Path openBlas = Path.of(System.getProperty("openblas", OPENBLAS));
        if (!Files.exists(openBlas) && !jmh.contains("-l") && !jmh.contains("-h")
                && jmh.stream().noneMatch(a -> a.startsWith("impl="))) {
            System.out.println("GemmBenchmark's openblas rows skipped: no " + openBlas + " (apt-get install libopenblas0-pthread,"
                    + " or -Dopenblas=PATH)");
            jmh.addAll(List.of("-p", "impl=longbow"));
        }
        Main.main(jmh.toArray(String[]::new));
    }

    private static int relaunchWithVectorApi(String[] args) throws IOException, InterruptedException, URISyntaxException {
        Path jar = Path.of(BenchMain.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());   // -D, -Xmx: what the user gave this JVM
        command.addAll(List.of("--add-modules", VECTOR, "--enable-native-access=ALL-UNNAMED", "-cp", jar.toString(),
                BenchMain.class.getName()));
        command.addAll(Arrays.asList(args));
        return new ProcessBuilder(command).inheritIO().start().waitFor();
    }
}
