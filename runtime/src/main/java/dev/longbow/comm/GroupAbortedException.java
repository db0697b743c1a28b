package dev.longbow.comm;

/** Thrown to the ranks of an in-process group once one of them has failed: nobody waits forever. */
public final class GroupAbortedException extends RuntimeException {
    /**
     * A group aborted for the reason {@code message} says.
     *
     * @param message what happened
     * @param cause   the failure that aborted it, or null
     */
    public GroupAbortedException(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * A group aborted because of {@code cause}.
     *
     * @param cause the failure that aborted it
     */
    public GroupAbortedException(Throwable cause) {
        super("group aborted: " + cause.getMessage(), cause);
    }
}
