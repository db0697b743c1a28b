package dev.longbow.backend;

import java.util.List;
import java.util.ServiceLoader;

/** Finds backends by name. Nothing falls back: an unknown or unusable backend is an error that says why. */
public final class Backends {
    private Backends() {
    }

    public static List<BackendProvider> providers() {
        return ServiceLoader.load(BackendProvider.class).stream().map(ServiceLoader.Provider::get).toList();
    }

    public static BackendProvider provider(String name) {
        List<BackendProvider> all = providers();
        return all.stream().filter(p -> p.name().equals(name)).findFirst().orElseThrow(() ->
                new IllegalArgumentException("unknown backend '" + name + "'; available: "
                        + all.stream().map(BackendProvider::name).toList()));
    }

    /** Opens backend {@code name} on device {@code ordinal}, or says why it cannot run here. */
    public static Backend open(String name, int ordinal) {
        BackendProvider p = provider(name);
        String reason = p.unavailableReason();
        if (reason != null) {
            throw new IllegalStateException("backend '" + name + "' cannot run here: " + reason);
        }
        return p.open(ordinal);
    }
}
