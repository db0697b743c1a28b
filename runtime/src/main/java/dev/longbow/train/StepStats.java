package dev.longbow.train;

/**
 * One optimizer step as every rank agrees on it.
 *
 * @param step     0-based
 * @param loss     mean cross-entropy over the step's targets, in nats
 * @param gradNorm global gradient norm before clipping
 * @param tokens   tokens the step processed (all ranks)
 * @param skipped  the loss or gradient norm was not finite and the update was skipped ({@link OnNonFinite#SKIP})
 */
public record StepStats(int step, double loss, double gradNorm, float lr, long tokens, boolean skipped) {
}
