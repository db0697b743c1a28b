package dev.longbow.comm.nccl;

/** NCCL reported an asynchronous error on a communicator; the watchdog aborted the launch. */
public final class NcclWatchdogException extends RuntimeException {
    NcclWatchdogException(String message, Throwable cause) {
        super(message, cause);
    }
}
