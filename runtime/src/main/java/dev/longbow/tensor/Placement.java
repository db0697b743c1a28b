package dev.longbow.tensor;

/**
 * Where a tensor's bytes live. A {@code DEVICE} tensor's segment carries a device address and
 * its size: it is passed to kernels and copies, never dereferenced by the host.
 */
public enum Placement {
    /** Host memory, addressable from Java. */
    HOST,
    /** A device's memory: only its backend and communicator touch it. */
    DEVICE
}
