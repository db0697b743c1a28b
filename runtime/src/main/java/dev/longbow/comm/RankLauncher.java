package dev.longbow.comm;

import java.util.List;

/**
 * Service interface: starts P ranks, each with its own backend and communicator endpoint, and
 * runs a task on them. One per communicator implementation (in-process threads, NCCL), found with
 * {@link java.util.ServiceLoader} through {@link RankLaunchers}.
 */
public interface RankLauncher {

    /** The communicator's name: "local", "nccl". */
    String name();

    /** Why this launcher cannot run here (a missing library), or {@code null} when it can. Must not throw. */
    String unavailableReason();

    /**
     * Whether this launcher moves the tensors of backend {@code backendName}. The in-process one
     * moves host memory and serves whatever no other launcher claims.
     */
    boolean serves(String backendName);

    /**
     * Runs {@code task} on {@code ranks} ranks, rank r on device r of backend {@code backendName},
     * and returns the results in rank order. When a rank throws, the others are stopped and a
     * {@link RankFailedException} naming the first failing rank is thrown.
     */
    <T> List<T> run(int ranks, String backendName, RankTask<T> task);
}
