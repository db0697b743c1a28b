package dev.longbow.samples.cli;

import dev.longbow.checkpoint.Json;
import dev.longbow.train.StepStats;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a run leaves in its folder: {@code metrics.jsonl} (one JSON object per step, written as
 * the run goes), {@code summary.json} (configuration and results) and {@code loss.png}.
 */
final class RunReport implements AutoCloseable {
    private final Path dir;
    private final Writer metrics;
    private final long startNanos = System.nanoTime();
    private final List<Double> steps = new ArrayList<>();
    private final List<Double> losses = new ArrayList<>();

    RunReport(Path dir) throws IOException {
        this.dir = Files.createDirectories(dir);
        this.metrics = Files.newBufferedWriter(dir.resolve("metrics.jsonl"), StandardCharsets.UTF_8);
    }

    Path dir() {
        return dir;
    }

    void step(StepStats s) {
        double elapsed = (System.nanoTime() - startNanos) / 1e9;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("step", s.step());
        m.put("loss", s.loss());
        m.put("grad_norm", s.gradNorm());
        m.put("lr", (double) s.lr());
        m.put("tokens", s.tokens());
        m.put("elapsed_s", elapsed);
        try {
            metrics.write(Json.write(m) + "\n");
            metrics.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        steps.add((double) s.step());
        losses.add(s.loss());
    }

    /** Writes summary.json and loss.png; returns the plot's path, or null when no step ran or no chart can be drawn here. */
    Path finish(Map<String, Object> summary, String title) throws IOException {
        Map<String, Object> all = new LinkedHashMap<>(summary);
        all.put("elapsed_s", (System.nanoTime() - startNanos) / 1e9);
        all.put("first_loss", losses.isEmpty() ? null : losses.getFirst());
        all.put("last_loss", losses.isEmpty() ? null : losses.getLast());
        Files.writeString(dir.resolve("summary.json"), Json.write(all) + "\n");
        if (losses.isEmpty()) {
            return null;
        }
        String noCharts = Charts.unavailableReason();
        if (noCharts != null) {
            System.out.println("  loss plot skipped: " + noCharts + "; the losses are in " + dir.resolve("metrics.jsonl"));
            return null;
        }
        XYChart chart = new XYChartBuilder().width(900).height(540).title(title).xAxisTitle("step").yAxisTitle("loss (nats)").build();
        chart.getStyler().setLegendVisible(false).setMarkerSize(0);
        chart.addSeries("loss", steps, losses);
        Path png = dir.resolve("loss.png");
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
        return png;
    }

    @Override
    public void close() throws IOException {
        metrics.close();
    }
}
