package dev.longbow.comm;

import dev.longbow.backend.Backends;
import java.util.List;
import java.util.ServiceLoader;

/** Picks the launcher for a backend: a specific one that serves it, else the in-process one. Nothing falls back past an unavailable launcher. */
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
        String backendReason = Backends.provider(backendName).unavailableReason();
        if (backendReason != null) {
            throw new IllegalStateException("backend '" + backendName + "' cannot run here: " + backendReason);
        }
        List<RankLauncher> all = launchers();
        RankLauncher chosen = all.stream().filter(l -> !l.name().equals(LOCAL) && l.serves(backendName)).findFirst()
                .or(() -> all.stream().filter(l -> l.name().equals(LOCAL)).findFirst())
                .orElseThrow(() -> new IllegalStateException("no communicator serves backend '" + backendName
                        + "'; launchers found: " + all.stream().map(RankLauncher::name).toList()));
        String reason = chosen.unavailableReason();
        if (reason != null) {
            throw new IllegalStateException("communicator '" + chosen.name() + "' for backend '" + backendName
                    + "' cannot run here: " + reason);
        }
        return chosen;
    }

    /** Runs {@code task} on {@code ranks} ranks of backend {@code backendName} with the launcher that serves it. */
    public static <T> List<T> run(int ranks, String backendName, RankTask<T> task) {
        return forBackend(backendName).run(ranks, backendName, task);
    }
}
