package dev.longbow.backend;

import java.util.List;
import java.util.ServiceLoader;

/**
 * Finds backends by their {@link BackendChoice}. Nothing falls back: an unknown or unusable
 * backend is an error that says why.
 */
public final class Backends {
    private Backends() {
    }

    /**
     * Every backend provider on the class or module path.
     *
     * @return the providers, in {@link ServiceLoader} order
     */
    public static List<BackendProvider> providers() {
        return ServiceLoader.load(BackendProvider.class).stream().map(ServiceLoader.Provider::get).toList();
    }

    /**
     * The provider of backend {@code choice}.
     *
     * @param choice the backend
     * @return its provider
     * @throws IllegalArgumentException when none has that name, naming those found
     */
    public static BackendProvider provider(BackendChoice choice) {
        List<BackendProvider> all = providers();
        return all.stream().filter(p -> p.name().equals(choice.name())).findFirst().orElseThrow(() ->
                new IllegalArgumentException("unknown backend '" + choice + "'; available: "
                        + all.stream().map(BackendProvider::name).toList()
                        + (choice.equals(BackendChoice.CUDA) ? " (the cuda backend is the artifact longbow-kernels-ptx)" : "")));
    }

    /**
     * {@link #provider(BackendChoice)} with the backend as the command line spells it.
     *
     * @param name a backend provider's name, e.g. "cpu"
     * @return its provider
     */
    public static BackendProvider provider(String name) {
        return provider(BackendChoice.named(name));
    }

    /**
     * {@link #open(BackendChoice, int)} with the backend as the command line spells it.
     *
     * @param name    a backend provider's name, e.g. "cpu"
     * @param ordinal the device (ignored where there is one)
     * @return the open backend
     */
    public static Backend open(String name, int ordinal) {
        return open(BackendChoice.named(name), ordinal);
    }

    /**
     * Opens backend {@code choice} on device {@code ordinal}; the caller closes it.
     *
     * @param choice  the backend
     * @param ordinal the device (ignored where there is one)
     * @return the open backend
     * @throws IllegalStateException when it cannot run here, saying why
     */
    public static Backend open(BackendChoice choice, int ordinal) {
        BackendProvider p = provider(choice);
        String reason = p.unavailableReason();
        if (reason != null) {
            throw new IllegalStateException("backend '" + choice + "' cannot run here: " + reason);
        }
        return p.open(ordinal);
    }
}
