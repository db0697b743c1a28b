package dev.longbow.comm.local;

import dev.longbow.backend.Backend;
import dev.longbow.backend.Backends;
import dev.longbow.comm.RankFailedException;
import dev.longbow.comm.RankTask;
import dev.longbow.tensor.Placement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Runs a task on P ranks that are threads of this JVM, each with its own backend (opened by name
 * on ordinal = rank) and its endpoint of an in-process group. When a rank throws, the group is
 * aborted so the others stop waiting, and the first failure is rethrown naming its rank.
 */
public final class LocalRanks {
    private LocalRanks() {
    }

    public static <T> List<T> run(int ranks, String backendName, RankTask<T> task) {
        List<LocalCommunicator> comms = LocalCommunicator.create(ranks);
        AtomicReferenceArray<T> results = new AtomicReferenceArray<>(ranks);
        AtomicReference<RankFailedException> rootFailure = new AtomicReference<>();
        AtomicReference<RankFailedException> anyFailure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            int rank = r;
            Thread t = new Thread(() -> {
                try (LocalCommunicator comm = comms.get(rank); Backend backend = Backends.open(backendName, rank)) {
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
                    comms.get(rank).abort(failure);
                }
            }, "rank-" + rank);
            t.setDaemon(true);
            threads.add(t);
        }
        threads.forEach(Thread::start);
        try {
            for (Thread t : threads) {
                t.join();
            }
        } catch (InterruptedException e) {
            comms.getFirst().abort(new GroupAbortedException("the caller of LocalRanks.run was interrupted", e));
            Thread.currentThread().interrupt();
            throw new GroupAbortedException("interrupted while waiting for " + ranks + " ranks", e);
        }
        if (anyFailure.get() != null) {
            throw rootFailure.get() != null ? rootFailure.get() : anyFailure.get();
        }
        List<T> list = new ArrayList<>(ranks);
        for (int r = 0; r < ranks; r++) {
            list.add(results.get(r));
        }
        return list;
    }
}
