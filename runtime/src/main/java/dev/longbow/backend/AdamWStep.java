package dev.longbow.backend;

/**
 * The scalars of one AdamW update (decoupled weight decay, bias-corrected moments).
 *
 * @param step 1-based step number, for the bias corrections
 */
public record AdamWStep(float lr, float beta1, float beta2, float eps, float weightDecay, int step) {
}
