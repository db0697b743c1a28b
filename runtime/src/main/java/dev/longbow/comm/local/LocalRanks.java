package dev.longbow.comm.local;

import dev.longbow.backend.BackendChoice;
import dev.longbow.comm.GroupAbortedException;
import dev.longbow.backend.Backend;
import dev.longbow.comm.CollectiveTimeout;
import dev.longbow.comm.RankFailedException;
import dev.longbow.comm.RankTask;
import dev.longbow.tensor.Placement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Runs a task on P ranks that are threads of this JVM, each with its own backend (opened by name
 * on ordinal = rank) and its endpoint of an in-process group. When a rank throws, the group is
 * aborted so the others stop waiting, and the first failure is rethrown naming its rank. A rank
 * that does not stop within {@link #STOP_GRACE} of the failure (busy in its own computation) is
 * left behind as a daemon thread rather than waited for.
 */
public final class LocalRanks {
    /** How long the ranks still running get to stop after a failure before the launch gives up on them. */
    static final Duration STOP_GRACE = Duration.ofSeconds(30);

    private LocalRanks() {
    }

    /** Runs with the collective timeout of the environment ({@link CollectiveTimeout#from}). */
    public static <T> List<T> run(int ranks, BackendChoice backendName, RankTask<T> task) {
        return run(ranks, backendName, CollectiveTimeout.from(System.getenv()), task);
    }

    /**
     * {@link #run(int, BackendChoice, RankTask)} with the backend as the command line spells it.
     *
     * @param ranks   how many ranks
     * @param backend a backend provider's name, e.g. "cpu"
     * @param task    what each rank runs
     * @param <T>     what a rank returns
     * @return each rank's result, in rank order
     */
    public static <T> List<T> run(int ranks, String backend, RankTask<T> task) {
        return run(ranks, BackendChoice.named(backend), task);
    }

    /** Runs with collectives and transfers that fail the group after waiting {@code collectiveTimeout} for a rank. */
    public static <T> List<T> run(int ranks, BackendChoice backendName, Duration collectiveTimeout, RankTask<T> task) {
        List<LocalCommunicator> comms = LocalCommunicator.create(ranks, collectiveTimeout);
        AtomicReferenceArray<T> results = new AtomicReferenceArray<>(ranks);
        AtomicReference<RankFailedException> rootFailure = new AtomicReference<>();
        AtomicReference<RankFailedException> anyFailure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            int rank = r;
            Thread t = new Thread(() -> {
                LocalCommunicator comm = comms.get(rank);
                try (Backend backend = backendName.open(rank)) {
                    if (backend.placement() != Placement.HOST) {
                        throw new IllegalStateException("the in-process communicator moves host memory but backend '"
                                + backendName + "' computes in " + backend.placement() + " memory; it needs a communicator that serves it");
                    }
                    results.set(rank, task.run(backend, comm));
                } catch (Throwable e) {
                    RankFailedException failure = new RankFailedException(rank, ranks, e);
                    // A rank woken by the abort is a consequence, not the cause: keep the first real failure.
                    if (!(e instanceof GroupAbortedException)) {
                        rootFailure.compareAndSet(null, failure);
                    }
                    anyFailure.compareAndSet(null, failure);
                    comm.abort(failure);
                } finally {
                    // After the abort: the others then hear of the failure, not of a rank that left.
                    comm.close();
                }
            }, "rank-" + rank);
            t.setDaemon(true);
            threads.add(t);
        }
        threads.forEach(Thread::start);
        List<String> stuck = awaitAll(threads, anyFailure, comms.getFirst());
        if (anyFailure.get() != null) {
            RankFailedException failure = rootFailure.get() != null ? rootFailure.get() : anyFailure.get();
            if (!stuck.isEmpty()) {
                failure.addSuppressed(new IllegalStateException(stuck + " did not stop within " + STOP_GRACE.toSeconds()
                        + " s of the failure (busy outside the communicator); left behind as daemon threads"));
            }
            throw failure;
        }
        List<T> list = new ArrayList<>(ranks);
        for (int r = 0; r < ranks; r++) {
            list.add(results.get(r));
        }
        return list;
    }

    /** Joins every rank thread; once a rank has failed, waits at most {@link #STOP_GRACE} more and returns those still running. */
    private static List<String> awaitAll(List<Thread> threads, AtomicReference<RankFailedException> failure, LocalCommunicator any) {
        long giveUpAt = Long.MAX_VALUE;
        try {
            for (Thread t : threads) {
                while (t.isAlive()) {
                    if (failure.get() != null && giveUpAt == Long.MAX_VALUE) {
                        giveUpAt = System.nanoTime() + STOP_GRACE.toNanos();
                    }
                    if (System.nanoTime() > giveUpAt) {
                        return threads.stream().filter(Thread::isAlive).map(Thread::getName).toList();
                    }
                    t.join(50);
                }
            }
        } catch (InterruptedException e) {
            any.abort(new GroupAbortedException("the caller of LocalRanks.run was interrupted", e));
            Thread.currentThread().interrupt();
            throw new GroupAbortedException("interrupted while waiting for " + threads.size() + " ranks", e);
        }
        return List.of();
    }
}
