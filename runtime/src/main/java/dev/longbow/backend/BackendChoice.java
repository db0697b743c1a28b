package dev.longbow.backend;

import dev.longbow.tensor.DType;
import java.util.Set;

/**
 * Which backend a rank computes on: a typed handle for a {@link BackendProvider}'s name. The
 * constants name Longbow's own; {@link #named} takes any provider's name (the command line's
 * {@code --backend}). Nothing is looked up when a choice is made: {@link #open} and
 * {@link #provider} fail naming the backends found when none has the name, or say why the chosen
 * one cannot run here.
 *
 * @param name the provider's name, lower case
 */
public record BackendChoice(String name) {
    /** The CPU backend, always available: host memory, the Vector API, ranks as threads. */
    public static final BackendChoice CPU = new BackendChoice("cpu");
    /** The CUDA backend of the {@code longbow-kernels-ptx} artifact: one GPU per rank, NCCL between them. */
    public static final BackendChoice CUDA = new BackendChoice("cuda");
    /** The TornadoVM backend of the {@code longbow-tornado-backend} module (OpenCL, PTX, SPIR-V). */
    public static final BackendChoice TORNADO = new BackendChoice("tornado");

    /** Checks that the name could be a provider's: not blank, no upper case. */
    public BackendChoice {
        if (name == null || name.isBlank() || !name.equals(name.strip().toLowerCase(java.util.Locale.ROOT))) {
            throw new IllegalArgumentException("backend name '" + name + "' must be a non-blank lower-case word, like cpu or cuda");
        }
    }

    /**
     * The backend a command line names, e.g. {@code --backend cuda}.
     *
     * @param name a provider's name
     * @return the choice of that backend
     */
    public static BackendChoice named(String name) {
        return new BackendChoice(name);
    }

    /**
     * The provider of this backend found by {@link java.util.ServiceLoader}.
     *
     * @return the provider
     * @throws IllegalArgumentException when no provider has this name, naming those found
     */
    public BackendProvider provider() {
        return Backends.provider(this);
    }

    /**
     * Why this backend cannot run here, without touching a device.
     *
     * @return the reason (a missing driver, library or SDK), or {@code null} when it can run
     */
    public String unavailableReason() {
        return provider().unavailableReason();
    }

    /**
     * The dtypes a model trains in on this backend.
     *
     * @return the provider's {@link BackendProvider#trainingDTypes()}
     */
    public Set<DType> trainingDTypes() {
        return provider().trainingDTypes();
    }

    /**
     * Opens this backend on device {@code ordinal}; the caller closes it.
     *
     * @param ordinal the device (ignored by backends with one device, like the CPU's)
     * @return the open backend
     * @throws IllegalStateException when the backend cannot run here, saying why
     */
    public Backend open(int ordinal) {
        return Backends.open(this, ordinal);
    }

    /** The name, as the command line spells it. */
    @Override
    public String toString() {
        return name;
    }
}
