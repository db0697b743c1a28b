package dev.longbow.comm.nccl;

import dev.longbow.comm.GroupAbortedException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * What the ranks of one launch in this JVM share to stop together: the first failure, and every
 * communicator (worlds and splits, all ranks) to abort when it happens. Aborting frees NCCL's
 * kernels that wait for a peer that will never come, so the ranks blocked on them wake up.
 */
final class RankAbort {
    private final List<NcclCommunicator> live = new CopyOnWriteArrayList<>();
    private volatile RuntimeException failure;

    /** Records the first failure and aborts every registered communicator; later calls change nothing. */
    void abort(RuntimeException cause) {
        synchronized (this) {
            if (failure != null) {
                return;
            }
            failure = cause;
        }
        // On a thread of its own: aborting makes each rank's context current in turn, and the
        // failing rank's thread must keep its own.
        Thread aborter = new Thread(() -> live.forEach(NcclCommunicator::abortFromAnyThread), "longbow-nccl-abort");
        aborter.setDaemon(true);
        aborter.start();
    }

    boolean aborted() {
        return failure != null;
    }

    /** The failure that aborted the launch, or null. */
    RuntimeException failure() {
        return failure;
    }

    /** Throws a {@link GroupAbortedException} once a rank has failed. */
    void failIfAborted() {
        RuntimeException f = failure;
        if (f != null) {
            throw new GroupAbortedException(f);
        }
    }

    /** Registers a communicator its rank's thread just made; if the launch already failed, that thread aborts it at once. */
    void register(NcclCommunicator comm) {
        live.add(comm);
        if (aborted()) {
            comm.abortFromAnyThread();
        }
    }

    void unregister(NcclCommunicator comm) {
        live.remove(comm);
    }
}
