package dev.longbow.comm;

import dev.longbow.backend.Backend;

/** What one rank runs, given its own backend and its endpoint of the group. */
@FunctionalInterface
public interface RankTask<T> {
    /**
     * Runs this rank's part.
     *
     * @param backend the rank's own backend, open on its device
     * @param comm    the rank's endpoint of the group
     * @return what the rank gives back to the launcher's caller
     * @throws Exception anything: it fails the launch, stopping every rank
     */
    T run(Backend backend, Communicator comm) throws Exception;
}
