package dev.longbow.samples.cli;

import dev.longbow.checkpoint.IoFailures;
import dev.longbow.checkpoint.Json;
import dev.longbow.checkpoint.ConfigJson;
import dev.longbow.model.ModelConfig;
import dev.longbow.train.EvalStats;
import dev.longbow.train.StepStats;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a run leaves in its folder: {@code metrics.jsonl} (one JSON object per step and per
 * evaluation, written as the run goes, with wall-clock time and tokens/s), the same as
 * {@code metrics.csv}, {@code run-config.json} (every option as resolved, the model and the run),
 * {@code summary.json} (configuration and results) and {@code loss.png} (training loss, and the
 * held-out loss when the run evaluates). A resumed run appends to the metrics of the run it
 * continues, after a line marking the resume; a new run does not overwrite another run's metrics.
 */
final class RunReport implements AutoCloseable {
    private static final String METRICS = "metrics.jsonl";
    private static final String CSV = "metrics.csv";
    private static final List<String> COLUMNS = List.of("time", "elapsed_s", "step", "loss", "grad_norm", "lr", "tokens",
            "tokens_per_s", "eval_loss", "eval_perplexity", "passkey_digit_accuracy", "passkey_key_accuracy", "skipped");
    private final Path dir;
    private final Writer metrics;
    private final Writer csv;
    private final long startNanos = System.nanoTime();
    private long lastStepNanos = startNanos;
    private final List<Double> steps = new ArrayList<>();
    private final List<Double> losses = new ArrayList<>();
    private final List<Double> evalSteps = new ArrayList<>();
    private final List<Double> evalLosses = new ArrayList<>();
    private int skipped;

    /**
     * Refuses a run folder that is a file, or that holds another run's metrics when this run does
     * not continue it: checked before any work, the folder itself is made when training starts.
     */
    static void requireUsable(Path dir, boolean resuming) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IllegalArgumentException("--run-dir " + dir + " is a file, not a folder; choose another --run-dir");
        }
        Path file = dir.resolve(METRICS);
        try {
            if (!resuming && Files.exists(file) && Files.size(file) > 0) {
                throw new IllegalArgumentException("--run-dir " + dir + " already holds the " + METRICS + " of an earlier run; choose "
                        + "another --run-dir, or pass --resume to continue that run there (its metrics are appended)");
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read run folder " + dir + ": " + IoFailures.reason(e), e);
        }
    }

    /** Opens {@code dir}'s metrics for a new run, or with {@code resuming} for appending to them. */
    RunReport(Path dir, boolean resuming) {
        requireUsable(dir, resuming);
        Path file = dir.resolve(METRICS);
        try {
            this.dir = Files.createDirectories(dir);
            this.metrics = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    resuming ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING);
            boolean header = !resuming || !Files.exists(dir.resolve(CSV));
            this.csv = Files.newBufferedWriter(dir.resolve(CSV), StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    resuming ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING);
            if (header) {
                csv.write(String.join(",", COLUMNS) + "\n");
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot write run folder " + dir + ": " + IoFailures.reason(e)
                    + "; choose a folder you can write, with --run-dir", e);
        }
    }

    Path dir() {
        return dir;
    }

    /**
     * The run continues from {@code checkpoint} at {@code firstStep}: marks the resume in the
     * metrics and takes the earlier steps' losses from them, for the plot and the summary.
     */
    void resumed(int firstStep, Path checkpoint) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("resumed_at_step", firstStep);
        m.put("checkpoint", checkpoint.toString());
        m.put("time", OffsetDateTime.now().toString());
        write(m);
        Map<Integer, Double> earlier = new TreeMap<>();   // a step logged by several runs before a resume: the last one counts
        try {
            for (String line : Files.readAllLines(dir.resolve(METRICS), StandardCharsets.UTF_8)) {
                if (Json.parse(line) instanceof Map<?, ?> entry && entry.get("step") instanceof Number step
                        && step.intValue() < firstStep && entry.get("loss") instanceof Number loss && Double.isFinite(loss.doubleValue())) {
                    earlier.put(step.intValue(), loss.doubleValue());
                }
            }
        } catch (IOException | IllegalArgumentException e) {
            // the earlier metrics are unreadable: the plot shows this part of the run only
        }
        earlier.forEach((step, loss) -> {
            steps.add((double) step);
            losses.add(loss);
        });
    }

    /** Writes {@code run-config.json}: the options as resolved, the run in one line, the model's shape. */
    void writeConfig(Map<String, Object> options, String run, ModelConfig model) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("options", options);
        m.put("run", run);
        m.put("model", Json.parse(ConfigJson.write(model)));
        try {
            Files.writeString(dir.resolve("run-config.json"), Json.write(m) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void evaluated(EvalStats e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("step", e.step());
        m.put("elapsed_s", (System.nanoTime() - startNanos) / 1e9);
        m.put("time", OffsetDateTime.now().toString());
        m.put("eval_loss", e.loss());
        m.put("eval_perplexity", e.perplexity());
        if (e.passkey() != null) {
            m.put("passkey_digit_accuracy", e.passkey().tokenAccuracy());
            m.put("passkey_key_accuracy", e.passkey().sequenceAccuracy());
        }
        write(m);
        if (Double.isFinite(e.loss())) {
            evalSteps.add((double) e.step());
            evalLosses.add(e.loss());
        }
    }

    void step(StepStats s) {
        long now = System.nanoTime();
        double elapsed = (now - startNanos) / 1e9;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("step", s.step());
        m.put("loss", s.loss());
        m.put("grad_norm", s.gradNorm());
        m.put("lr", (double) s.lr());
        m.put("tokens", s.tokens());
        m.put("tokens_per_s", s.tokens() / Math.max(1e-9, (now - lastStepNanos) / 1e9));
        m.put("elapsed_s", elapsed);
        m.put("time", OffsetDateTime.now().toString());
        lastStepNanos = now;
        if (s.skipped()) {
            m.put("skipped", true);
            skipped++;
        }
        write(m);
        if (Double.isFinite(s.loss())) {
            steps.add((double) s.step());
            losses.add(s.loss());
        }
    }

    /** One line of metrics.jsonl, and of metrics.csv when it is a step or an evaluation. */
    private void write(Map<String, Object> line) {
        try {
            metrics.write(Json.write(line) + "\n");
            metrics.flush();
            if (line.containsKey("step")) {
                List<String> cells = new ArrayList<>();
                for (String c : COLUMNS) {
                    Object v = line.get(c);
                    cells.add(v == null ? "" : v instanceof Double d && !Double.isFinite(d) ? "nan" : String.valueOf(v));
                }
                csv.write(String.join(",", cells) + "\n");
                csv.flush();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes summary.json and loss.png; returns the plot's path, or null when no step ran or no chart can be drawn here. */
    Path finish(Map<String, Object> summary, String title) throws IOException {
        Map<String, Object> all = new LinkedHashMap<>(summary);
        all.put("elapsed_s", (System.nanoTime() - startNanos) / 1e9);
        all.put("first_loss", losses.isEmpty() ? null : losses.getFirst());
        all.put("last_loss", losses.isEmpty() ? null : losses.getLast());
        all.put("skipped_steps", skipped);
        all.put("last_eval_loss", evalLosses.isEmpty() ? null : evalLosses.getLast());
        Files.writeString(dir.resolve("summary.json"), Json.write(all) + "\n");
        if (losses.isEmpty()) {
            return null;
        }
        String noCharts = Charts.unavailableReason();
        if (noCharts != null) {
            System.out.println("  loss plot skipped: " + noCharts + "; the losses are in " + dir.resolve("metrics.jsonl"));
            return null;
        }
        Path png = dir.resolve("loss.png");
        LossPlot.save(title, steps, losses, evalSteps, evalLosses, png);
        return png;
    }

    @Override
    public void close() throws IOException {
        metrics.close();
        csv.close();
    }
}
