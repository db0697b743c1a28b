package dev.longbow.kernels.comm;

import dev.longbow.backend.Backend;
import dev.longbow.comm.RankFailedException;
import dev.longbow.comm.RankTask;
import dev.longbow.comm.GroupAbortedException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.IntFunction;

/**
 * Runs a task on P ranks that are threads of this JVM, each with its own backend (opened on the
 * rank's thread, which makes its GPU's context current there), its {@link DeviceStreams}, and its
 * endpoint of one {@link DeviceGroup}. When a rank throws, the group is aborted so the others stop
 * waiting, and the first failure is rethrown naming its rank.
 *
 * <p>The ranks' streams, events and backends are closed here once every rank thread has ended,
 * after every communication stream has drained: until then a peer may still wait for a rank's
 * events or copy from its memory.
 */
final class DeviceRanks<T> {
    /** How long the ranks still running get to stop after a failure before the launch gives up on them. */
    static final Duration STOP_GRACE = Duration.ofSeconds(30);

    private final int ranks;
    private final IntFunction<Backend> open;
    private final RankTask<T> task;
    private final DeviceGroup world;
    private final AtomicReferenceArray<T> results;
    private final AtomicReferenceArray<Backend> backends;
    private final AtomicReferenceArray<DeviceStreams> streams;
    private final AtomicReference<RankFailedException> rootFailure = new AtomicReference<>();
    private final AtomicReference<RankFailedException> anyFailure = new AtomicReference<>();

    private DeviceRanks(int ranks, IntFunction<Backend> open, Duration timeout, RankTask<T> task) {
        this.ranks = ranks;
        this.open = open;
        this.task = task;
        this.world = new DeviceGroup(ranks, timeout);
        this.results = new AtomicReferenceArray<>(ranks);
        this.backends = new AtomicReferenceArray<>(ranks);
        this.streams = new AtomicReferenceArray<>(ranks);
    }

    /**
     * Runs {@code task} on {@code ranks} ranks, rank r with the backend {@code open} makes for it;
     * every call of their communicators fails the group after {@code timeout}. Returns the results
     * in rank order.
     */
    static <T> List<T> run(int ranks, IntFunction<Backend> open, Duration timeout, RankTask<T> task) {
        return new DeviceRanks<>(ranks, open, timeout, task).run();
    }

    private List<T> run() {
        List<Thread> threads = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            int rank = r;
            Thread t = new Thread(() -> runRank(rank), "rank-" + rank + "-device");
            t.setDaemon(true);
            threads.add(t);
        }
        threads.forEach(Thread::start);
        List<Thread> stuck = awaitAll(threads);
        closeAll(threads, stuck);
        RankFailedException failure = rootFailure.get() != null ? rootFailure.get() : anyFailure.get();
        if (failure != null) {
            if (!stuck.isEmpty()) {
                failure.addSuppressed(new IllegalStateException(stuck.stream().map(Thread::getName).toList()
                        + " did not stop within " + STOP_GRACE.toSeconds() + " s of the failure; left behind as daemon threads"
                        + " with their GPU resources"));
            }
            throw failure;
        }
        List<T> list = new ArrayList<>(ranks);
        for (int r = 0; r < ranks; r++) {
            list.add(results.get(r));
        }
        return list;
    }

    private void runRank(int rank) {
        try {
            Backend backend = open.apply(rank);
            backends.set(rank, backend);
            DeviceStreams mine = new DeviceStreams(backend);
            streams.set(rank, mine);
            DeviceCommunicator comm = new DeviceCommunicator(world, rank, mine);
            try {
                results.set(rank, task.run(backend, comm));
            } catch (Throwable e) {
                fail(rank, e);    // before closing: the others then fail with the cause, not with "rank left"
            } finally {
                comm.close();
            }
        } catch (Throwable e) {
            fail(rank, e);
        }
    }

    private void fail(int rank, Throwable e) {
        RankFailedException failure = new RankFailedException(rank, ranks, e);
        // A rank woken by the abort is a consequence, not the cause: keep the first real failure.
        if (!(e instanceof GroupAbortedException)) {
            rootFailure.compareAndSet(null, failure);
        }
        anyFailure.compareAndSet(null, failure);
        world.abort(failure);
    }

    /**
     * Joins every rank thread; once the launch has failed, waits at most {@link #STOP_GRACE} more
     * and returns the threads still running.
     */
    private List<Thread> awaitAll(List<Thread> threads) {
        long giveUpAt = Long.MAX_VALUE;
        try {
            for (Thread t : threads) {
                while (t.isAlive()) {
                    if (world.aborted() && giveUpAt == Long.MAX_VALUE) {
                        giveUpAt = System.nanoTime() + STOP_GRACE.toNanos();
                    }
                    if (System.nanoTime() > giveUpAt) {
                        return threads.stream().filter(Thread::isAlive).toList();
                    }
                    t.join(100);
                }
            }
        } catch (InterruptedException e) {
            world.abort(new GroupAbortedException("the caller of the device launcher was interrupted", e));
            Thread.currentThread().interrupt();
            throw new GroupAbortedException("interrupted while waiting for " + ranks + " ranks", e);
        }
        return List.of();
    }

    /**
     * Drains every communication stream, then closes each rank's streams and backend; a rank left
     * running keeps its own. A failure to close counts as its rank's failure.
     */
    private void closeAll(List<Thread> threads, List<Thread> stuck) {
        List<Integer> ended = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            if (!stuck.contains(threads.get(r))) {
                ended.add(r);
            }
        }
        for (int r : ended) {
            DeviceStreams s = streams.get(r);
            if (s != null) {
                try {
                    s.synchronize();
                } catch (RuntimeException e) {
                    fail(r, e);
                }
            }
        }
        for (int r : ended) {
            close(r, streams.get(r));
            close(r, backends.get(r));    // after the streams: their events and stream live in its context
        }
    }

    private void close(int rank, AutoCloseable resource) {
        if (resource == null) {
            return;
        }
        try {
            resource.close();
        } catch (Exception e) {
            fail(rank, e);
        }
    }
}
