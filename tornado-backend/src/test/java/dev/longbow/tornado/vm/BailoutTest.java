package dev.longbow.tornado.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.common.TornadoFunctions.Task5;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * A kernel TornadoVM cannot compile must stop with an error naming it, never run as sequential
 * Java. The kernel here is ordinary but compiled without debug information, which TornadoVM's
 * OpenCL code generator needs (a real way to meet the bailout). With recovery disabled (what the
 * backend sets up) the compile error names the kernel; with TornadoVM's default recovery on,
 * TornadoVM runs the kernel as Java and the device-time check reports it. Each case runs in its
 * own JVM, since TornadoVM reads the setting once.
 */
class BailoutTest {
    static final String KERNEL = "doubled";
    private static final String SOURCE = """
            import uk.ac.manchester.tornado.api.KernelContext;
            import uk.ac.manchester.tornado.api.common.TornadoFunctions.Task5;
            import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
            import uk.ac.manchester.tornado.api.types.arrays.IntArray;

            public final class NoDebugInfo {
                public static void doubled(KernelContext kc, FloatArray heap, IntArray ints, IntArray args, FloatArray scalars) {
                    int i = kc.globalIdx;
                    if (i < args.get(0)) {
                        heap.set(i, 2f * heap.get(i));
                    }
                }

                public static Task5<KernelContext, FloatArray, IntArray, IntArray, FloatArray> body() {
                    return NoDebugInfo::doubled;
                }
            }
            """;

    /** Runs the kernel through the backend's checked execution; the class must be on the class path (TornadoVM reads its bytes). */
    @SuppressWarnings("unchecked")
    static void runKernelWithoutDebugInfo() throws ReflectiveOperationException {
        var body = (Task5<KernelContext, FloatArray, IntArray, IntArray, FloatArray>) Class.forName("NoDebugInfo").getMethod("body").invoke(null);
        FloatArray heap = new FloatArray(64);
        heap.init(1f);
        IntArray ints = new IntArray(64);
        IntArray args = IntArray.fromElements(64);
        FloatArray scalars = new FloatArray(1);
        TaskGraph graph = new TaskGraph("bad")
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, heap, ints, args, scalars)
                .task("k", body, new KernelContext(), heap, ints, args, scalars)
                .transferToHost(DataTransferMode.EVERY_EXECUTION, heap);
        WorkerGrid1D grid = new WorkerGrid1D(64);
        grid.setLocalWork(64, 1, 1);
        TornadoExecutionPlan plan = new TornadoExecutionPlan(graph.snapshot());
        plan.withGridScheduler(new GridScheduler("bad.k", grid));
        DeviceSession.execute(plan, 0, KERNEL, "the test device", true);
    }

    /** Compiles the kernel without debug information and runs it in a JVM with TornadoVM's bailout recovery on or off. */
    private static String probe(boolean recover) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("longbow-bailout");
        Files.writeString(dir.resolve("NoDebugInfo.java"), SOURCE);
        int rc = ToolProvider.getSystemJavaCompiler().run(null, null, null, "-g:none", "-p", System.getProperty("jdk.module.path"),
                "--add-modules", "tornado.api", "-d", dir.toString(), dir.resolve("NoDebugInfo.java").toString());
        assertEquals(0, rc, "javac");
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("@" + System.getenv("TORNADOVM_HOME") + "/tornado-argfile");
        command.add("-Dtornado.recover.bailout=" + (recover ? "True" : "False"));
        command.add("-cp");
        command.add(dir + java.io.File.pathSeparator + System.getProperty("java.class.path"));
        command.add(Probe.class.getName());
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "probe JVM did not finish");
        assertEquals(3, p.exitValue(), output);
        return output;
    }

    @Test
    void withRecoveryDisabledTheCompileErrorNamesTheKernel() throws IOException, InterruptedException {
        String output = probe(false);
        assertTrue(output.contains("could not run kernel '" + KERNEL + "'"), output);
    }

    @Test
    void withTornadoRecoveryOnTheDeviceCheckStillFails() throws IOException, InterruptedException {
        String output = probe(true);
        assertTrue(output.contains("did not run kernel '" + KERNEL + "'") && output.contains("sequential Java"), output);
    }

    /** The second JVM: exit 3 with the message when the check fired, 0 if the kernel "ran", 4 on anything else. */
    public static final class Probe {
        public static void main(String[] args) {
            try {
                runKernelWithoutDebugInfo();
                System.exit(0);
            } catch (IllegalStateException e) {
                System.out.println(e.getMessage());
                System.exit(3);
            } catch (Exception e) {
                e.printStackTrace(System.out);
                System.exit(4);
            }
        }
    }
}
