package dev.longbow.train;

/** What a run does when a checkpoint cannot be written (disk full, folder gone). */
public enum OnSaveFailure {
    /** Stop the run with an error naming the step, the folder and the newest checkpoint on disk. */
    STOP,
    /** Say so and train on; the next save tries again. The run still fails at the end if its last save failed. */
    CONTINUE
}
