package dev.longbow.kernels;

import dev.longbow.backend.Backend;
import dev.longbow.backend.Pending;
import dev.longbow.comm.Communicator;
import dev.longbow.comm.Traffic;
import dev.longbow.tensor.Tensor;

/**
 * A group of one rank over any backend's memory: every collective is a copy from send to recv
 * (or nothing), issued on the backend's compute stream, so it is ordered with the rank's other
 * work. What the one-GPU scheme tests run on; NCCL's one-rank communicator would do the same.
 */
final class SingleRankCommunicator implements Communicator {
    private final Backend backend;

    SingleRankCommunicator(Backend backend) {
        this.backend = backend;
    }

    @Override
    public int rank() {
        return 0;
    }

    @Override
    public int size() {
        return 1;
    }

    @Override
    public Pending sendRecv(Tensor send, int to, Tensor recv, int from) {
        if (to != 0 || from != 0) {
            throw new IllegalArgumentException("a group of one rank has only rank 0, got to " + to + ", from " + from);
        }
        copy(send, recv);
        return Pending.DONE;
    }

    @Override
    public void allToAll(Tensor send, Tensor recv) {
        copy(send, recv);
    }

    @Override
    public void allGather(Tensor send, Tensor recv) {
        copy(send, recv);
    }

    @Override
    public void reduceScatter(Tensor send, Tensor recv) {
        copy(send, recv);
    }

    @Override
    public void allReduce(Tensor inout) {
    }

    @Override
    public void barrier() {
    }

    @Override
    public Communicator split(int color, int key) {
        return new SingleRankCommunicator(backend);
    }

    @Override
    public Traffic traffic() {
        return Traffic.NONE;
    }

    @Override
    public void close() {
    }

    private void copy(Tensor send, Tensor recv) {
        if (send.data().address() != recv.data().address()) {
            backend.tensors().copy(send, recv);
        }
    }
}
