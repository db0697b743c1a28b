package dev.longbow.backend;

/** Service interface: one per backend implementation, registered for {@link java.util.ServiceLoader}. */
public interface BackendProvider {

    /** The name users pick it by, e.g. "cpu". */
    String name();

    /**
     * Why this backend cannot run here (a missing driver, library or SDK), or {@code null} when
     * it can. Must not throw and must not touch a device.
     */
    String unavailableReason();

    /** Opens the backend on device {@code ordinal} (ignored where there is one device). */
    Backend open(int ordinal);
}
