package dev.longbow.checkpoint;

import java.io.IOException;
import java.nio.file.Path;

/** A checkpoint file that cannot be trusted: nothing was loaded from it. */
public final class CorruptCheckpointException extends IOException {
    /**
     * A checkpoint that cannot be trusted.
     *
     * @param path the file
     * @param why  what is wrong with it
     */
    public CorruptCheckpointException(Path path, String why) {
        super("refusing checkpoint " + path + ": " + why + ". Nothing was loaded; delete it to resume from the previous "
                + "checkpoint in its folder, or start without --resume");
    }
}
