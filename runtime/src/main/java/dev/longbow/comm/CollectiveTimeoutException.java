package dev.longbow.comm;

/**
 * A collective or transfer did not complete within the group's deadline; every rank of the group
 * fails with this message, which names the call and the ranks that did not arrive.
 */
public final class CollectiveTimeoutException extends RuntimeException {
    /**
     * A collective or transfer waited longer than the group's timeout.
     *
     * @param message names the call, the ranks that came and those that did not
     */
    public CollectiveTimeoutException(String message) {
        super(message);
    }
}
