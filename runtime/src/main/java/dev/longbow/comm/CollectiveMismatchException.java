package dev.longbow.comm;

/**
 * Ranks of one group called different collectives at the same point (another kind, sizes or
 * dtype, or one rank skipped a call): every rank fails with a message naming both sides.
 */
public final class CollectiveMismatchException extends IllegalArgumentException {
    /**
     * Ranks of a group made different calls.
     *
     * @param message names both calls and the ranks that made them
     */
    public CollectiveMismatchException(String message) {
        super(message);
    }
}
