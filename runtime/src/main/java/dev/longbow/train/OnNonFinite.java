package dev.longbow.train;

/** What a step whose loss or gradient norm is NaN or infinite does. */
public enum OnNonFinite {
    /** Stop the run with an error before the update; nothing non-finite reaches the parameters or a checkpoint. */
    STOP,
    /** Skip the step's update (the parameters and moments stay as they were) and go on. */
    SKIP
}
