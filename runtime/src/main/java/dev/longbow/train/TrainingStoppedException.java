package dev.longbow.train;

/**
 * The run stopped itself: it diverged, or a checkpoint could not be written. The message says
 * what happened, at which step, what is kept on disk and how to go on; no stack trace needed.
 */
public final class TrainingStoppedException extends RuntimeException {
    /**
     * The run stopped.
     *
     * @param message why, and what to do
     */
    public TrainingStoppedException(String message) {
        super(message);
    }

    /**
     * The run stopped because of {@code cause}.
     *
     * @param message why, and what to do
     * @param cause   the failure
     */
    public TrainingStoppedException(String message, Throwable cause) {
        super(message, cause);
    }
}
