package dev.longbow.bench.ranks;

import dev.longbow.backend.Backend;
import dev.longbow.backend.BackendChoice;
import dev.longbow.comm.Communicator;
import dev.longbow.comm.local.LocalCommunicator;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * P ranks of the CPU backend as P threads of this JVM that live across benchmark invocations, so
 * that an invocation times the work, not starting threads, backends and communicators. Every
 * {@link #run} hands each rank its task at once (P threads for P ranks: a collective always finds
 * its peers) and waits for all of them; a rank that throws fails the invocation.
 */
public final class InProcessRanks implements AutoCloseable {
    /** One rank's part of an invocation. */
    @FunctionalInterface
    public interface Work {
        /**
         * The work, on this rank.
         *
         * @param rank    the rank
         * @param backend its backend
         * @param comm    its endpoint of the group
         * @throws Exception anything: it fails the invocation
         */
        void run(int rank, Backend backend, Communicator comm) throws Exception;
    }

    private final List<Backend> backends = new ArrayList<>();
    private final List<LocalCommunicator> comms;
    private final ExecutorService threads;

    /**
     * Starts {@code ranks} ranks.
     *
     * @param ranks how many
     */
    public InProcessRanks(int ranks) {
        this.comms = LocalCommunicator.create(ranks);
        this.threads = Executors.newFixedThreadPool(ranks);
        for (int r = 0; r < ranks; r++) {
            backends.add(BackendChoice.CPU.open(r));
        }
    }

    /**
     * Runs {@code work} on every rank and waits for all.
     *
     * @param work what each rank does
     */
    public void run(Work work) {
        List<Future<?>> running = new ArrayList<>();
        for (int r = 0; r < comms.size(); r++) {
            int rank = r;
            running.add(threads.submit(() -> {
                work.run(rank, backends.get(rank), comms.get(rank));
                return null;
            }));
        }
        try {
            for (Future<?> f : running) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the ranks ran", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("a rank failed: " + e.getCause(), e.getCause());
        }
    }

    /** Closes the endpoints and the backends, and stops the threads. */
    @Override
    public void close() {
        threads.shutdownNow();
        comms.forEach(LocalCommunicator::close);
        backends.forEach(Backend::close);
    }
}
