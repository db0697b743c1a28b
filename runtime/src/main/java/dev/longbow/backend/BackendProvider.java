package dev.longbow.backend;

import dev.longbow.tensor.DType;
import java.util.Set;

/** Service interface: one per backend implementation, registered for {@link java.util.ServiceLoader}. */
public interface BackendProvider {

    /** The name users pick it by, e.g. "cpu". */
    String name();

    /**
     * Why this backend cannot run here (a missing driver, library or SDK), or {@code null} when
     * it can. Must not throw and must not touch a device.
     */
    String unavailableReason();

    /**
     * The dtypes a model trains in on this backend: its {@link ModelOps} and attention take
     * activations and matrix-product inputs in these (weights, gradients and optimizer state stay
     * fp32). Known without touching a device, so a run asking for another is refused before any work.
     */
    default Set<DType> trainingDTypes() {
        return Set.of(DType.F32);
    }

    /** Opens the backend on device {@code ordinal} (ignored where there is one device). */
    Backend open(int ordinal);
}
