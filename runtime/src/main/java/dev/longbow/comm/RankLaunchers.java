package dev.longbow.comm;

import dev.longbow.backend.BackendChoice;
import dev.longbow.launch.RankEnvironment;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * Picks a launcher: by name, or for a backend (the one specific launcher that serves it, else the
 * in-process one). Nothing falls back past an unavailable launcher, a launcher that runs only
 * when named is never picked for a backend, and a launcher that runs one process is not started
 * under a launch environment that describes a job of several.
 */
public final class RankLaunchers {
    /** The launcher that serves what no other launcher claims. */
    public static final String LOCAL = "local";

    private RankLaunchers() {
    }

    /**
     * Every launcher on the class or module path.
     *
     * @return the launchers, in {@link ServiceLoader} order
     */
    public static List<RankLauncher> launchers() {
        return ServiceLoader.load(RankLauncher.class).stream().map(ServiceLoader.Provider::get).toList();
    }

    /**
     * {@link #forBackend(BackendChoice)} with the backend as the command line spells it.
     *
     * @param backend a backend provider's name, e.g. "cpu"
     * @return the launcher that serves it
     */
    public static RankLauncher forBackend(String backend) {
        return forBackend(BackendChoice.named(backend));
    }

    /** {@link #forBackend(BackendChoice, Map)} in this process's environment. */
    public static RankLauncher forBackend(BackendChoice backendName) {
        return forBackend(backendName, System.getenv());
    }

    /**
     * The launcher for backend {@code backendName}, after checking that the backend itself can run
     * here: an unknown or unavailable backend fails before any rank starts, and so does a launcher
     * that cannot honour the job {@code env} describes (torchrun's or Slurm's variables for
     * several processes, with a launcher whose ranks are threads of one process).
     */
    public static RankLauncher forBackend(BackendChoice backendName, Map<String, String> env) {
        requireBackend(backendName);
        return requireUsable(forBackend(launchers(), backendName), backendName, env);
    }

    /** {@link #named(String, BackendChoice, Map)} in this process's environment. */
    public static RankLauncher named(String name, BackendChoice backendName) {
        return named(name, backendName, System.getenv());
    }

    /**
     * Launcher {@code name} for backend {@code backendName}: an unknown launcher, one that does not
     * move that backend's memory, one that cannot run here, or one that cannot honour the job
     * {@code env} describes fails before any rank starts.
     */
    public static RankLauncher named(String name, BackendChoice backendName, Map<String, String> env) {
        requireBackend(backendName);
        return requireUsable(named(launchers(), name, backendName), backendName, env);
    }

    /** Runs {@code task} on {@code ranks} ranks of backend {@code backendName} with the launcher that serves it. */
    public static <T> List<T> run(int ranks, BackendChoice backendName, RankTask<T> task) {
        return forBackend(backendName).run(ranks, backendName, task);
    }

    /** As {@link #run(int, BackendChoice, RankTask)}, every collective failing the group after {@code collectiveTimeout}. */
    public static <T> List<T> run(int ranks, BackendChoice backendName, Duration collectiveTimeout, RankTask<T> task) {
        return forBackend(backendName).run(ranks, backendName, collectiveTimeout, task);
    }

    /** Among {@code all}: the one launcher not chosen only by name that serves the backend, else the in-process one. */
    static RankLauncher forBackend(List<RankLauncher> all, BackendChoice backendName) {
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

    static RankLauncher named(List<RankLauncher> all, String name, BackendChoice backendName) {
        RankLauncher chosen = all.stream().filter(l -> l.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown communicator '" + name + "'; available: " + names(all)));
        if (!chosen.serves(backendName)) {
            List<String> fitting = all.stream().filter(l -> l.serves(backendName) && !l.name().equals(LOCAL)).map(RankLauncher::name).toList();
            throw new IllegalArgumentException("communicator '" + name + "' does not move the memory of backend '" + backendName
                    + "'; for '" + backendName + "' choose one of " + (fitting.isEmpty() ? List.of(LOCAL) : fitting));
        }
        return chosen;
    }

    private static void requireBackend(BackendChoice backendName) {
        String backendReason = backendName.unavailableReason();
        if (backendReason != null) {
            throw new IllegalStateException("backend '" + backendName + "' cannot run here: " + backendReason);
        }
    }

    private static RankLauncher requireUsable(RankLauncher chosen, BackendChoice backendName, Map<String, String> env) {
        String reason = chosen.unavailableReason();
        if (reason != null) {
            throw new IllegalStateException("communicator '" + chosen.name() + "' for backend '" + backendName
                    + "' cannot run here: " + reason);
        }
        if (!chosen.spansProcesses()) {
            requireSingleProcess(chosen, backendName, env);
        }
        return chosen;
    }

    private static void requireSingleProcess(RankLauncher chosen, BackendChoice backendName, Map<String, String> env) {
        int processes = RankEnvironment.processCount(env);
        if (processes > 1) {
            throw new IllegalStateException(RankEnvironment.jobVariables(env) + " describe a job of " + processes
                    + " processes, but backend '" + backendName + "' runs all its ranks as threads of one process (communicator '"
                    + chosen.name() + "'), so each process would train a copy of its own. Run one process with --ranks N, or "
                    + "use --backend cuda (NCCL) for a job across processes, or unset these variables");
        }
    }

    private static List<String> names(List<RankLauncher> all) {
        return all.stream().map(RankLauncher::name).toList();
    }
}
