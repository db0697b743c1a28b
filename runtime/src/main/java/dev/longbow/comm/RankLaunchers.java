package dev.longbow.comm;

import dev.longbow.backend.Backends;
import dev.longbow.launch.RankEnvironment;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * Picks the launcher for a backend: a specific one that serves it, else the in-process one.
 * Nothing falls back past an unavailable launcher, and a launcher that runs one process is not
 * started under a launch environment that describes a job of several.
 */
public final class RankLaunchers {
    /** The launcher that serves what no other launcher claims. */
    public static final String LOCAL = "local";

    private RankLaunchers() {
    }

    public static List<RankLauncher> launchers() {
        return ServiceLoader.load(RankLauncher.class).stream().map(ServiceLoader.Provider::get).toList();
    }

    /** {@link #forBackend(String, Map)} in this process's environment. */
    public static RankLauncher forBackend(String backendName) {
        return forBackend(backendName, System.getenv());
    }

    /**
     * The launcher for backend {@code backendName}, after checking that the backend itself can run
     * here: an unknown or unavailable backend fails before any rank starts, and so does a launcher
     * that cannot honour the job {@code env} describes (torchrun's or Slurm's variables for
     * several processes, with a launcher whose ranks are threads of one process).
     */
    public static RankLauncher forBackend(String backendName, Map<String, String> env) {
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
        if (!chosen.spansProcesses()) {
            requireSingleProcess(chosen, backendName, env);
        }
        return chosen;
    }

    private static void requireSingleProcess(RankLauncher chosen, String backendName, Map<String, String> env) {
        int processes = RankEnvironment.processCount(env);
        if (processes > 1) {
            throw new IllegalStateException(RankEnvironment.jobVariables(env) + " describe a job of " + processes
                    + " processes, but backend '" + backendName + "' runs all its ranks as threads of one process (communicator '"
                    + chosen.name() + "'), so each process would train a copy of its own. Run one process with --ranks N, or "
                    + "use --backend cuda (NCCL) for a job across processes, or unset these variables");
        }
    }

    /** Runs {@code task} on {@code ranks} ranks of backend {@code backendName} with the launcher that serves it. */
    public static <T> List<T> run(int ranks, String backendName, RankTask<T> task) {
        return forBackend(backendName).run(ranks, backendName, task);
    }

    /** As {@link #run(int, String, RankTask)}, every collective failing the group after {@code collectiveTimeout}. */
    public static <T> List<T> run(int ranks, String backendName, Duration collectiveTimeout, RankTask<T> task) {
        return forBackend(backendName).run(ranks, backendName, collectiveTimeout, task);
    }
}
