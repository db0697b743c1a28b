package dev.longbow.checkpoint;

import java.nio.file.Path;

/** The state to save holds NaN or infinity: nothing was written, and the checkpoints on disk are untouched. */
public final class NonFiniteCheckpointException extends IllegalStateException {
    /**
     * A tensor to be saved holds NaN or infinity; nothing was written.
     *
     * @param target the file that was to be written
     * @param tensor the tensor's name
     * @param index  the flat index of the first such element
     * @param value  its value
     */
    public NonFiniteCheckpointException(Path target, String tensor, long index, float value) {
        super("refusing to write checkpoint " + target + ": tensor '" + tensor + "' holds " + value + " at element " + index
                + " (the run diverged); the checkpoints already written are kept");
    }
}
