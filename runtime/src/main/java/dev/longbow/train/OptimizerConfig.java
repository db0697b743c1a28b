package dev.longbow.train;

/**
 * AdamW with linear warmup then the {@code schedule}'s decay to {@code minLr}, and global
 * gradient-norm clipping.
 *
 * @param clip the largest gradient norm kept; 0 turns clipping off
 */
public record OptimizerConfig(float lr, float minLr, int warmup, float beta1, float beta2, float eps,
                              float weightDecay, float clip, LrSchedule schedule) {

    /**
     * AdamW as Llama trains: betas 0.9 and 0.95, eps 1e-8, weight decay 0.1, clip 1, cosine decay to lr/10.
     *
     * @param lr     the peak learning rate
     * @param warmup linear warmup steps
     * @return the settings
     */
    public static OptimizerConfig defaults(float lr, int warmup) {
        return new OptimizerConfig(lr, lr / 10, warmup, 0.9f, 0.95f, 1e-8f, 0.1f, 1f);
    }

    /** With warmup then cosine decay, the schedule Longbow always had. */
    public OptimizerConfig(float lr, float minLr, int warmup, float beta1, float beta2, float eps, float weightDecay, float clip) {
        this(lr, minLr, warmup, beta1, beta2, eps, weightDecay, clip, new LrSchedule.Cosine());
    }

    /** Refuses a non-finite or non-positive learning rate, betas outside [0, 1), negative clip, decay or eps, and a missing schedule. */
    public OptimizerConfig {
        requireFinite("learning rate", "--lr", lr);
        requireFinite("weight decay", "--weight-decay", weightDecay);
        requireFinite("gradient clip", "--clip", clip);
        requireFinite("min learning rate", "the minimum learning rate", minLr);
        requireFinite("beta1", "beta1", beta1);
        requireFinite("beta2", "beta2", beta2);
        requireFinite("eps", "eps", eps);
        if (!(lr > 0) || minLr < 0 || minLr > lr) {
            throw new IllegalArgumentException("learning rate " + lr + " must be positive and at least min lr " + minLr);
        }
        if (schedule == null) {
            throw new IllegalArgumentException("a learning-rate schedule is needed; choose one of " + LrSchedule.NAMES);
        }
        if (warmup < 0) {
            throw new IllegalArgumentException("warmup " + warmup + " must not be negative");
        }
        if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("betas " + beta1 + ", " + beta2 + " must lie in [0, 1)");
        }
        if (clip < 0 || weightDecay < 0 || !(eps > 0)) {
            throw new IllegalArgumentException("clip " + clip + ", weight decay " + weightDecay + " and eps " + eps
                    + " must not be negative (eps positive)");
        }
    }

    private static void requireFinite(String what, String option, float value) {
        if (!Float.isFinite(value)) {
            throw new IllegalArgumentException(what + " " + value + " is not a finite number: " + option
                    + " takes an ordinary number (e.g. 3e-3), and NaN or infinity would turn every parameter into NaN");
        }
    }

    /** The learning rate of 0-based {@code step} in a run of {@code steps}. */
    public float lrAt(int step, int steps) {
        return schedule.lrAt(step, steps, lr, minLr, warmup);
    }
}
