package dev.longbow.comm.nccl;

import dev.longbow.backend.Backend;
import dev.longbow.cuda.CudaCompute;
import dev.longbow.comm.RankFailedException;
import dev.longbow.comm.RankTask;
import dev.longbow.comm.GroupAbortedException;
import dev.longbow.nccl.NcclUniqueId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.IntFunction;

/**
 * Runs a task on this JVM's ranks of an NCCL group: a thread per GPU opens the rank's backend
 * (which makes its device's context current on that thread), its communication stream, and its
 * NCCL communicator ({@code ncclCommInitRank} with the shared id: it returns once every rank of
 * the group, in this process and the others, has joined). When a rank throws, the launch is
 * aborted so the others stop waiting, and the first failure is rethrown naming its rank.
 */
final class NcclRanks<T> {
    /** How long the ranks still running get to stop after a failure before the launch gives up on them. */
    static final Duration STOP_GRACE = Duration.ofSeconds(30);

    private final NodeRanks node;
    private final NcclUniqueId id;
    private final IntFunction<Backend> open;
    private final RankTask<T> task;
    private final Duration timeout;
    private final RankAbort abort = new RankAbort();
    private final AtomicReferenceArray<T> results;
    private final AtomicReference<RankFailedException> rootFailure = new AtomicReference<>();
    private final AtomicReference<RankFailedException> anyFailure = new AtomicReference<>();
    /** Joining blocks until every rank has joined and nothing aborts a join: a rank whose device failed must stop the others first. */
    private final CountDownLatch devicesOpen;

    private NcclRanks(NodeRanks node, NcclUniqueId id, IntFunction<Backend> open, RankTask<T> task, Duration timeout) {
        this.node = node;
        this.timeout = timeout;
        this.id = id;
        this.open = open;
        this.task = task;
        this.results = new AtomicReferenceArray<>(node.localRanks());
        this.devicesOpen = new CountDownLatch(node.localRanks());
    }

    /**
     * Runs {@code task} on {@code node.localRanks()} ranks, rank {@code node.firstRank() + i} on GPU
     * {@code node.firstGpu() + i} with the backend {@code open} makes for that ordinal. Returns this
     * process's results in rank order. A call that takes longer than {@code timeout} fails the launch.
     */
    static <T> List<T> run(NodeRanks node, NcclUniqueId id, IntFunction<Backend> open, RankTask<T> task, Duration timeout) {
        return new NcclRanks<>(node, id, open, task, timeout).run();
    }

    private List<T> run() {
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < node.localRanks(); i++) {
            int local = i;
            Thread t = new Thread(() -> runRank(local), "rank-" + (node.firstRank() + i) + "-gpu-" + (node.firstGpu() + i));
            t.setDaemon(true);
            threads.add(t);
        }
        threads.forEach(Thread::start);
        List<String> stuck = awaitAll(threads);
        if (anyFailure.get() != null || abort.aborted()) {
            // The watchdog aborts a launch from its own thread: its failure is the root one then.
            RankFailedException failure = rootFailure.get() != null ? rootFailure.get()
                    : abort.failure() instanceof RankFailedException watched ? watched : anyFailure.get();
            if (!stuck.isEmpty()) {
                failure.addSuppressed(new IllegalStateException(stuck + " did not stop within " + STOP_GRACE.toSeconds()
                        + " s of the failure (blocked in NCCL or CUDA); left behind as daemon threads"));
            }
            throw failure;
        }
        List<T> list = new ArrayList<>();
        for (int i = 0; i < node.localRanks(); i++) {
            list.add(results.get(i));
        }
        return list;
    }

    private void runRank(int local) {
        int rank = node.firstRank() + local;
        try (Backend backend = open.apply(node.firstGpu() + local);
             RankStreams streams = new RankStreams(requireCuda(backend))) {
            devicesOpen.countDown();
            devicesOpen.await();
            abort.failIfAborted();
            try (NcclCommunicator comm = NcclCommunicator.join(id, node.worldSize(), rank, streams, abort, timeout)) {
                try {
                    results.set(local, task.run(backend, comm));
                    abort.failIfAborted();  // a result computed while the launch was aborted is not one
                } catch (Throwable e) {
                    // Before closing: a communicator of a failed launch is aborted, not finalized,
                    // which would wait for peers that may never come.
                    fail(rank, e);
                }
            }
        } catch (Throwable e) {
            fail(rank, e);
            devicesOpen.countDown();    // releases the others if this rank failed before it counted
        }
    }

    private void fail(int rank, Throwable e) {
        RankFailedException failure = new RankFailedException(rank, node.worldSize(), e);
        // A rank woken by the abort is a consequence, not the cause: keep the first real failure.
        if (!(e instanceof GroupAbortedException)) {
            rootFailure.compareAndSet(null, failure);
        }
        anyFailure.compareAndSet(null, failure);
        abort.abort(failure);
    }

    /**
     * Joins every rank thread; once the launch has failed, waits at most {@link #STOP_GRACE} more
     * and returns the names of the threads still running.
     */
    private List<String> awaitAll(List<Thread> threads) {
        long giveUpAt = Long.MAX_VALUE;
        try {
            for (Thread t : threads) {
                while (t.isAlive()) {
                    if (abort.aborted() && giveUpAt == Long.MAX_VALUE) {
                        giveUpAt = System.nanoTime() + STOP_GRACE.toNanos();
                    }
                    if (System.nanoTime() > giveUpAt) {
                        return threads.stream().filter(Thread::isAlive).map(Thread::getName).toList();
                    }
                    t.join(100);
                }
            }
        } catch (InterruptedException e) {
            abort.abort(new GroupAbortedException("the caller of NcclRanks.run was interrupted", e));
            Thread.currentThread().interrupt();
            throw new GroupAbortedException("interrupted while waiting for " + threads.size() + " ranks", e);
        }
        return List.of();
    }

    private static CudaCompute requireCuda(Backend backend) {
        if (backend instanceof CudaCompute cuda) {
            return cuda;
        }
        throw new IllegalStateException("NCCL moves GPU memory in order with the backend's CUDA stream, but backend '"
                + backend.name() + "' (" + backend.getClass().getName() + ") does not expose one: it must implement "
                + CudaCompute.class.getName());
    }
}
