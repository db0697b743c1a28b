package dev.longbow.comm;

import dev.longbow.backend.Backend;

/** What one rank runs, given its own backend and its endpoint of the group. */
@FunctionalInterface
public interface RankTask<T> {
    T run(Backend backend, Communicator comm) throws Exception;
}
