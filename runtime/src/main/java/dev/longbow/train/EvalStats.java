package dev.longbow.train;

/**
 * One evaluation on held-out data, as every rank agrees on it.
 *
 * @param step    the 0-based step it follows, as {@link StepStats#step()} numbers it
 * @param loss    mean cross-entropy over the held-out targets, in nats
 * @param passkey digit and key accuracy for the passkey task; null for text
 */
public record EvalStats(int step, double loss, PasskeyAccuracy passkey) {

    /** {@code exp(loss)}: the number of equally likely tokens the model is as unsure as. */
    public double perplexity() {
        return Math.exp(loss);
    }
}
