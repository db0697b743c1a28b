package dev.longbow.train;

import java.util.List;

/**
 * How the learning rate moves over a run: every schedule first warms up linearly from
 * {@code lr / warmup} to {@code lr} over {@code warmup} steps, then follows its own shape down to
 * {@code minLr} at the last step (or stays at {@code lr}).
 */
public sealed interface LrSchedule {
    /** The names {@link #parse} takes. */
    List<String> NAMES = List.of("cosine", "linear", "constant", "wsd");

    /** The learning rate of 0-based {@code step} of {@code steps}. */
    default float lrAt(int step, int steps, float lr, float minLr, int warmup) {
        if (step < warmup) {
            return lr * (step + 1) / warmup;
        }
        double progress = Math.min(1.0, (double) (step - warmup) / Math.max(1, steps - warmup));
        return (float) (minLr + (lr - minLr) * remaining(progress));
    }

    /** The share of {@code lr - minLr} left at {@code progress} (0 right after warmup, 1 at the last step). */
    double remaining(double progress);

    /** Half a cosine from lr to minLr (GPT-3, Llama). */
    record Cosine() implements LrSchedule {
        @Override
        public double remaining(double progress) {
            return 0.5 * (1 + Math.cos(Math.PI * progress));
        }
    }

    /** A straight line from lr to minLr. */
    record Linear() implements LrSchedule {
        @Override
        public double remaining(double progress) {
            return 1 - progress;
        }
    }

    /** lr after warmup, to the end. */
    record Constant() implements LrSchedule {
        @Override
        public double remaining(double progress) {
            return 1;
        }
    }

    /**
     * Warmup-stable-decay (MiniCPM, "Scaling Laws and Compute-Optimal Training Beyond Fixed Training
     * Durations"): lr held until the last {@code decayFraction} of the steps after warmup, then a
     * straight line to minLr. A run can be extended from a checkpoint of its stable phase.
     */
    record WarmupStableDecay(double decayFraction) implements LrSchedule {
        /** Refuses a decay fraction outside (0, 1]. */
        public WarmupStableDecay {
            if (!(decayFraction > 0 && decayFraction <= 1)) {
                throw new IllegalArgumentException("decay fraction " + decayFraction + " must lie in (0, 1]: the share of the "
                        + "steps after warmup spent decaying (e.g. --decay-fraction 0.2)");
            }
        }

        @Override
        public double remaining(double progress) {
            double decayStart = 1 - decayFraction;
            return progress <= decayStart ? 1 : 1 - (progress - decayStart) / decayFraction;
        }
    }

    /** "cosine", "linear", "constant" or "wsd" (whose decay takes {@code decayFraction} of the steps after warmup). */
    static LrSchedule parse(String name, double decayFraction) {
        return switch (name) {
            case "cosine" -> new Cosine();
            case "linear" -> new Linear();
            case "constant" -> new Constant();
            case "wsd" -> new WarmupStableDecay(decayFraction);
            default -> throw new IllegalArgumentException("unknown learning-rate schedule '" + name + "'; choose one of " + NAMES);
        };
    }
}
