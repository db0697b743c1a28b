package dev.longbow.checkpoint;

import java.nio.file.Path;

/** The state to save holds NaN or infinity: nothing was written, and the checkpoints on disk are untouched. */
public final class NonFiniteCheckpointException extends IllegalStateException {
    public NonFiniteCheckpointException(Path target, String tensor, long index, float value) {
        super("refusing to write checkpoint " + target + ": tensor '" + tensor + "' holds " + value + " at element " + index
                + " (the run diverged); the checkpoints already written are kept");
    }
}
