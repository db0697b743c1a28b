package dev.longbow.backend;

/**
 * Work in flight: a transfer or copy that was posted and has not necessarily finished.
 * {@link #await()} orders everything the rank issues afterwards after it. On a GPU this is an
 * event the compute stream waits on, not a host synchronisation.
 */
@FunctionalInterface
public interface Pending {
    Pending DONE = () -> { };

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
