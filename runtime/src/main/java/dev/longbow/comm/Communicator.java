package dev.longbow.comm;

import dev.longbow.backend.Pending;
import dev.longbow.tensor.Tensor;

/**
 * One rank's endpoint of a group of ranks. Collectives are called by every rank of the group in
 * the same order and are ordered with the rank's compute stream (on the CPU: they return when
 * done; on a GPU: enqueued, later work waits through events). Tensors passed to a collective are
 * in the memory of the rank's backend. Reductions are sums.
 *
 * <p>Implementations: in-process (ranks are threads of one JVM), NCCL.
 */
public interface Communicator extends AutoCloseable {

    /**
     * This endpoint's rank in its group.
     *
     * @return {@code 0 <= rank() < size()}
     */
    int rank();

    /**
     * The ranks in the group.
     *
     * @return at least 1
     */
    int size();

    /**
     * Posts, as one group, a send of {@code send} to rank {@code to} and a receive into
     * {@code recv} from rank {@code from}; returns at once. The caller must not touch either
     * tensor until {@link Pending#await()}.
     */
    Pending sendRecv(Tensor send, int to, Tensor recv, int from);

    /** {@code send} and {@code recv} are {@code [size * n, ...]}: block j of send goes to rank j, block i of recv came from rank i. */
    void allToAll(Tensor send, Tensor recv);

    /** {@code recv [size * n, ...]} holds every rank's {@code send [n, ...]} in rank order. */
    void allGather(Tensor send, Tensor recv);

    /** {@code recv [n, ...]} = sum over ranks of block {@code rank()} of their {@code send [size * n, ...]}. */
    void reduceScatter(Tensor send, Tensor recv);

    /** {@code inout} = sum over ranks of {@code inout}. */
    void allReduce(Tensor inout);

    /** Blocks the calling thread until every rank of the group has called it: a host-side rendezvous (timing, checkpoints). */
    void barrier();

    /**
     * Collective over this group: ranks passing the same {@code color} form a new communicator,
     * ordered by {@code key} then by rank. The result is owned by the caller.
     */
    Communicator split(int color, int key);

    /**
     * Bytes this rank has sent and received through this communicator since it was created,
     * counted as a ring algorithm moves them so every implementation reports the same numbers:
     * {@code sendRecv} the tensor each way (nothing to or from oneself); all-to-all, all-gather
     * and reduce-scatter (size - 1) blocks each way; all-reduce 2 (size - 1) / size of the buffer
     * each way; barrier and split nothing. A sub-communicator counts its own traffic.
     */
    Traffic traffic();

    @Override
    void close();
}
