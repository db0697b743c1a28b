package dev.longbow.backend.cpu;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntConsumer;
import java.util.function.IntFunction;

/**
 * The compute threads of every CPU backend in the JVM. In-process ranks are threads too, so each
 * rank owning a pool would put ranks x cores threads on the cores; instead all ranks feed one
 * pool of {@code longbow.cpu.threads} (default: available processors) daemon threads, and a
 * rank's thread only waits for its share.
 */
final class CpuThreads {
    static final int COUNT = Integer.getInteger("longbow.cpu.threads", Runtime.getRuntime().availableProcessors());

    private static final ThreadLocal<Boolean> IS_WORKER = ThreadLocal.withInitial(() -> false);
    private static final ExecutorService POOL = Executors.newFixedThreadPool(COUNT, daemonThreads("longbow-cpu-", true));

    private CpuThreads() {
    }

    /** Work that is split into items; each worker thread gets its own state (scratch buffers). */
    interface Body<W> {
        void run(W workerState, int item);
    }

    /**
     * Runs {@code body} for items {@code 0 .. items-1} on the pool and waits. Items are handed out
     * in increasing order to whichever worker is free, so callers list the most expensive items
     * first. Called from a pool thread (nested parallelism), or where one worker would run them
     * all, it runs the items inline.
     */
    static <W> void parallelFor(int items, IntFunction<W> workerState, Body<W> body) {
        if (items <= 0) {
            return;
        }
        // Where one worker would run every item (one item, or a pool of one), running them here
        // saves the hand-off to a pool thread and back: tens of microseconds in a VM, and a
        // K = 50257 product (the head's input gradient) hands off twice per K block.
        if (IS_WORKER.get() || items == 1 || COUNT == 1) {
            W state = workerState.apply(0);
            for (int i = 0; i < items; i++) {
                body.run(state, i);
            }
            return;
        }
        int workers = Math.min(items, COUNT);
        AtomicInteger next = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(workers);
        for (int w = 0; w < workers; w++) {
            int worker = w;
            POOL.execute(() -> {
                try {
                    W state = workerState.apply(worker);
                    for (int i; failure.get() == null && (i = next.getAndIncrement()) < items; ) {
                        body.run(state, i);
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    done.countDown();
                }
            });
        }
        awaitUninterruptibly(done);
        Throwable t = failure.get();
        if (t instanceof RuntimeException e) {
            throw e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        if (t != null) {
            throw new IllegalStateException(t);
        }
    }

    static void parallelFor(int items, IntConsumer body) {
        parallelFor(items, w -> null, (Object unused, int i) -> body.accept(i));
    }

    /** Threads named {@code prefix + n}; {@code computeWorkers} marks the pool's own threads. */
    static ThreadFactory daemonThreads(String prefix, boolean computeWorkers) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(() -> {
                IS_WORKER.set(computeWorkers);
                r.run();
            }, prefix + n.getAndIncrement());
            t.setDaemon(true);
            return t;
        };
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        boolean interrupted = false;
        while (true) {
            try {
                latch.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
