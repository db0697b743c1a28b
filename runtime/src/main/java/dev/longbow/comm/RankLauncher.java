package dev.longbow.comm;

import dev.longbow.backend.BackendChoice;
import java.time.Duration;
import java.util.List;

/**
 * Service interface: starts P ranks, each with its own backend and communicator endpoint, and
 * runs a task on them. One per communicator implementation (in-process threads, NCCL, the
 * in-process device communicator), found with {@link java.util.ServiceLoader} through
 * {@link RankLaunchers}.
 */
public interface RankLauncher {

    /** The communicator's name: "local", "nccl", "device". */
    String name();

    /** Why this launcher cannot run here (a missing library), or {@code null} when it can. Must not throw. */
    String unavailableReason();

    /**
     * Whether this launcher moves the tensors of backend {@code backendName}. The in-process one
     * moves host memory and serves whatever no other launcher claims.
     */
    boolean serves(BackendChoice backend);

    /**
     * Whether one job of this launcher can span several processes (it reads {@code RANK},
     * {@code WORLD_SIZE}, Slurm's variables and meets the others at a rendezvous). A launcher
     * that cannot is refused where those variables describe a job of several processes: each
     * process would otherwise train a copy of its own.
     */
    default boolean spansProcesses() {
        return false;
    }

    /**
     * Whether this launcher runs only when asked for by name ({@link RankLaunchers#named}), never
     * as the one that serves a backend by default: a second communicator for a backend (ranks
     * sharing GPUs beside NCCL's one rank per GPU) must not replace the usual one silently.
     */
    default boolean onlyByName() {
        return false;
    }

    /**
     * This launcher with rank r on device {@code ordinals.get(r % ordinals.size())} of its
     * backend. Launchers that place their ranks themselves refuse, naming themselves.
     */
    default RankLauncher withDevices(List<Integer> ordinals) {
        throw new IllegalArgumentException("communicator '" + name() + "' places its ranks itself (rank r on device r); a list"
                + " of devices " + ordinals + " is for a communicator that shares devices between ranks ('device')");
    }

    /**
     * Runs {@code task} on {@code ranks} ranks, rank r on device r of backend {@code backendName}
     * (or where {@link #withDevices} put it), and returns the results in rank order. When a rank
     * throws, the others are stopped and a {@link RankFailedException} naming the first failing
     * rank is thrown. A collective or transfer that waits longer than {@code collectiveTimeout}
     * for a rank fails every rank, naming the call and the ranks that did not arrive.
     */
    <T> List<T> run(int ranks, BackendChoice backend, Duration collectiveTimeout, RankTask<T> task);

    /**
     * {@link #run(int, BackendChoice, RankTask)} with the backend as the command line spells it.
     *
     * @param ranks   how many ranks
     * @param backend a backend provider's name, e.g. "cpu"
     * @param task    what each rank runs
     * @param <T>     what a rank returns
     * @return each rank's result, in rank order
     */
    default <T> List<T> run(int ranks, String backend, RankTask<T> task) {
        return run(ranks, BackendChoice.named(backend), task);
    }

    /** {@link #run(int, BackendChoice, Duration, RankTask)} with the timeout of the environment ({@link CollectiveTimeout#from}). */
    default <T> List<T> run(int ranks, BackendChoice backend, RankTask<T> task) {
        return run(ranks, backend, CollectiveTimeout.from(System.getenv()), task);
    }
}
