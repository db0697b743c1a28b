package dev.longbow.comm;

import dev.longbow.backend.Backends;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Picks a launcher: by name, or for a backend (the one specific launcher that serves it, else the
 * in-process one). Nothing falls back past an unavailable launcher, and a launcher that runs only
 * when named is never picked for a backend.
 */
public final class RankLaunchers {
    /** The launcher that serves what no other launcher claims. */
    public static final String LOCAL = "local";

    private RankLaunchers() {
    }

    public static List<RankLauncher> launchers() {
        return ServiceLoader.load(RankLauncher.class).stream().map(ServiceLoader.Provider::get).toList();
    }

    /**
     * The launcher for backend {@code backendName}, after checking that the backend itself can run
     * here: an unknown or unavailable backend fails before any rank starts.
     */
    public static RankLauncher forBackend(String backendName) {
        requireBackend(backendName);
        return requireAvailable(forBackend(launchers(), backendName), backendName);
    }

    /**
     * Launcher {@code name} for backend {@code backendName}: an unknown launcher, one that does not
     * move that backend's memory, or one that cannot run here fails before any rank starts.
     */
    public static RankLauncher named(String name, String backendName) {
        requireBackend(backendName);
        return requireAvailable(named(launchers(), name, backendName), backendName);
    }

    /** Runs {@code task} on {@code ranks} ranks of backend {@code backendName} with the launcher that serves it. */
    public static <T> List<T> run(int ranks, String backendName, RankTask<T> task) {
        return forBackend(backendName).run(ranks, backendName, task);
    }

    /** Among {@code all}: the one launcher not chosen only by name that serves the backend, else the in-process one. */
    static RankLauncher forBackend(List<RankLauncher> all, String backendName) {
        List<RankLauncher> serving = all.stream()
                .filter(l -> !l.name().equals(LOCAL) && !l.onlyByName() && l.serves(backendName)).toList();
        if (serving.size() > 1) {
            throw new IllegalStateException("communicators " + serving.stream().map(RankLauncher::name).toList()
                    + " all claim backend '" + backendName + "'; each backend has one default communicator");
        }
        return serving.stream().findFirst()
                .or(() -> all.stream().filter(l -> l.name().equals(LOCAL)).findFirst())
                .orElseThrow(() -> new IllegalStateException("no communicator serves backend '" + backendName
                        + "'; launchers found: " + names(all)));
    }

    static RankLauncher named(List<RankLauncher> all, String name, String backendName) {
        RankLauncher chosen = all.stream().filter(l -> l.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown communicator '" + name + "'; available: " + names(all)));
        if (!chosen.serves(backendName)) {
            List<String> fitting = all.stream().filter(l -> l.serves(backendName) && !l.name().equals(LOCAL)).map(RankLauncher::name).toList();
            throw new IllegalArgumentException("communicator '" + name + "' does not move the memory of backend '" + backendName
                    + "'; for '" + backendName + "' choose one of " + (fitting.isEmpty() ? List.of(LOCAL) : fitting));
        }
        return chosen;
    }

    private static void requireBackend(String backendName) {
        String backendReason = Backends.provider(backendName).unavailableReason();
        if (backendReason != null) {
            throw new IllegalStateException("backend '" + backendName + "' cannot run here: " + backendReason);
        }
    }

    private static RankLauncher requireAvailable(RankLauncher chosen, String backendName) {
        String reason = chosen.unavailableReason();
        if (reason != null) {
            throw new IllegalStateException("communicator '" + chosen.name() + "' for backend '" + backendName
                    + "' cannot run here: " + reason);
        }
        return chosen;
    }

    private static List<String> names(List<RankLauncher> all) {
        return all.stream().map(RankLauncher::name).toList();
    }
}
