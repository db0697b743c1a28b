package dev.longbow.samples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.checkpoint.Json;
import dev.longbow.train.StepStats;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The GPU bundle's runtime has neither XChart nor java.desktop: a run there must still write its
 * metrics and summary and skip the plot with one line, never fail on a missing chart class.
 */
class RunReportWithoutChartsTest {

    @Test
    void aRunWithoutTheChartLibraryWritesEverythingButThePlot(@TempDir Path dir) throws Exception {
        URL[] withoutXChart = {location(RunReport.class), location(Json.class), location(StepStats.class)};
        try (URLClassLoader loader = new URLClassLoader(withoutXChart, ClassLoader.getPlatformClassLoader())) {
            Class<?> report = loader.loadClass(RunReport.class.getName());
            Class<?> stats = loader.loadClass(StepStats.class.getName());
            Constructor<?> open = report.getDeclaredConstructor(Path.class, boolean.class);
            open.setAccessible(true);
            Object run = open.newInstance(dir, false);
            Method step = report.getDeclaredMethod("step", stats);
            step.setAccessible(true);
            Object one = stats.getConstructors()[0].newInstance(0, 2.5, 1.0, 1e-3f, 64L, false);
            step.invoke(run, one);
            Method finish = report.getDeclaredMethod("finish", Map.class, String.class);
            finish.setAccessible(true);
            assertNull(finish.invoke(run, Map.of("run", "test"), "loss"), "no plot without XChart");
            Method close = report.getDeclaredMethod("close");
            close.setAccessible(true);
            close.invoke(run);
        }
        assertTrue(Files.readString(dir.resolve("metrics.jsonl")).contains("\"loss\":2.5"));
        assertTrue(Files.exists(dir.resolve("summary.json")));
        assertFalse(Files.exists(dir.resolve("loss.png")));
        assertEquals(1, Files.readAllLines(dir.resolve("metrics.jsonl")).stream().filter(l -> l.contains("\"step\"")).count());
    }

    private static URL location(Class<?> c) {
        return c.getProtectionDomain().getCodeSource().getLocation();
    }
}
