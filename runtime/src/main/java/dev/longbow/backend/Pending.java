package dev.longbow.backend;

/**
 * Work in flight: a transfer or copy that was posted and has not necessarily finished.
 * {@link #await()} orders everything the rank issues afterwards after it. On a GPU this is an
 * event the compute stream waits on, not a host synchronisation.
 */
@FunctionalInterface
public interface Pending {
    /** Work already done: awaiting it returns at once. */
    Pending DONE = () -> { };

    /** Orders the caller's later work after this work: on the CPU, blocks until it is done; on a GPU, makes the compute stream wait for it. */
    void await();

    /** One handle for several transfers: awaits each in turn. */
    static Pending all(Pending... pending) {
        return () -> {
            for (Pending p : pending) {
                p.await();
            }
        };
    }
}
