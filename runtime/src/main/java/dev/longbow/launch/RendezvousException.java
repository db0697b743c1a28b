package dev.longbow.launch;

/** The rendezvous could not complete; the message says which process, which rank and why. */
public final class RendezvousException extends RuntimeException {
    public RendezvousException(String message) {
        super(message);
    }

    public RendezvousException(String message, Throwable cause) {
        super(message, cause);
    }
}
