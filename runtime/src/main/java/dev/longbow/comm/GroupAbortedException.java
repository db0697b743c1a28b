package dev.longbow.comm;

/** Thrown to the ranks of an in-process group once one of them has failed: nobody waits forever. */
public final class GroupAbortedException extends RuntimeException {
    public GroupAbortedException(String message, Throwable cause) {
        super(message, cause);
    }

    public GroupAbortedException(Throwable cause) {
        super("group aborted: " + cause.getMessage(), cause);
    }
}
