package dev.longbow.bench.sidebyside;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;

/**
 * Where a training step's time goes: Java Flight Recorder samples the threads every 2 ms while
 * {@code work} runs, and each sample counts for the first of {@link #CATEGORIES} that one of its
 * frames matches (the backend's kernels run on its pool's threads, so a sample's stack starts at
 * the kernel, not at the model's call).
 */
final class StepProfile {
    /** Category name and a pattern on "class.method" of a frame, first match wins. */
    static final Map<String, Pattern> CATEGORIES = new LinkedHashMap<>();

    static {
        CATEGORIES.put("matrix products", Pattern.compile("CpuModelOpsGemm\\."));
        CATEGORIES.put("attention forward", Pattern.compile("FlashForward\\."));
        CATEGORIES.put("attention backward", Pattern.compile("FlashBackward\\."));
        CATEGORIES.put("cross-entropy", Pattern.compile("CpuModelOps\\.(lambda\\$)?crossEntropy"));
        CATEGORIES.put("AdamW", Pattern.compile("CpuModelOps\\.(lambda\\$)?adamw"));
        CATEGORIES.put("other model ops (norms, rope, SwiGLU, embedding)", Pattern.compile("CpuModelOps\\."));
        CATEGORIES.put("tensor ops (copies, fills, norms of the gradient)", Pattern.compile("CpuTensorOps\\."));
        CATEGORIES.put("attention scheme and model glue", Pattern.compile("dev\\.longbow\\."));
    }

    private StepProfile() {
    }

    /** Runs {@code work} under the recorder; returns each category's share of the samples, and "other". */
    static Map<String, Double> of(Runnable work) throws IOException {
        Path file = Files.createTempFile("longbow-step", ".jfr");
        try (Recording recording = new Recording()) {
            recording.enable("jdk.ExecutionSample").withPeriod(java.time.Duration.ofMillis(2));
            recording.start();
            work.run();
            recording.stop();
            recording.dump(file);
        }
        Map<String, Integer> counts = new LinkedHashMap<>();
        int total = 0;
        List<RecordedEvent> events = RecordingFile.readAllEvents(file);
        Files.delete(file);
        for (RecordedEvent e : events) {
            if (!e.getEventType().getName().equals("jdk.ExecutionSample") || e.getStackTrace() == null) {
                continue;
            }
            total++;
            counts.merge(category(e.getStackTrace().getFrames()), 1, Integer::sum);
        }
        Map<String, Double> shares = new LinkedHashMap<>();
        for (String c : CATEGORIES.keySet()) {
            shares.put(c, 100.0 * counts.getOrDefault(c, 0) / Math.max(1, total));
        }
        shares.put("other", 100.0 * counts.getOrDefault("other", 0) / Math.max(1, total));
        return shares;
    }

    private static String category(List<RecordedFrame> frames) {
        for (Map.Entry<String, Pattern> c : CATEGORIES.entrySet()) {
            for (RecordedFrame f : frames) {
                if (c.getValue().matcher(f.getMethod().getType().getName() + "." + f.getMethod().getName()).find()) {
                    return c.getKey();
                }
            }
        }
        return "other";
    }
}
