package dev.longbow.comm;

/**
 * A collective or transfer did not complete within the group's deadline; every rank of the group
 * fails with this message, which names the call and the ranks that did not arrive.
 */
public final class CollectiveTimeoutException extends RuntimeException {
    public CollectiveTimeoutException(String message) {
        super(message);
    }
}
