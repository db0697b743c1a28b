package dev.longbow.plan;

/**
 * The achieved matmul throughputs the calibration fits, one per kind of machine and software
 * stack: no data sheet says what a framework's products reach inside a training step (shapes,
 * launch gaps, the clock under the power limit), so each is fitted to one published step and the
 * others of its kind check it.
 */
public enum MatmulRate {
    /** A100 SXM 80 GB, PyTorch eager, bf16. */
    A100_BF16,
    /** H100 SXM (500 W, 96 GB HBM2e, as torchtitan's Grand Teton hosts), PyTorch eager, bf16. */
    H100_BF16,
    /** The same H100s with torch.compile and Float8 linear layers (attention stays bf16). */
    H100_FP8_COMPILED
}
