package dev.longbow.tornado;

import dev.longbow.backend.Backend;
import dev.longbow.backend.Pending;
import dev.longbow.comm.Communicator;
import dev.longbow.comm.Traffic;
import dev.longbow.tensor.Tensor;

/**
 * A host-memory communicator (the in-process one) for a rank whose backend computes on device
 * copies of host tensors, as the TornadoVM backend does: the host view of such a tensor is
 * current only after {@link Backend#synchronize()}, which also makes the backend's next launch
 * send the host's changes to the device. So every collective synchronizes the rank's backend
 * before it moves memory (what it sends has come back from the device, and what it receives
 * goes up before the next kernel). A {@link #sendRecv} synchronizes again when it is awaited:
 * kernels may have run while it was in flight, and the received block must follow them up.
 */
final class SynchronizingCommunicator implements Communicator {
    private final Communicator inner;
    private final Backend backend;

    SynchronizingCommunicator(Communicator inner, Backend backend) {
        this.inner = inner;
        this.backend = backend;
    }

    @Override
    public int rank() {
        return inner.rank();
    }

    @Override
    public int size() {
        return inner.size();
    }

    @Override
    public Pending sendRecv(Tensor send, int to, Tensor recv, int from) {
        backend.synchronize();
        Pending transfer = inner.sendRecv(send, to, recv, from);
        return () -> {
            transfer.await();
            backend.synchronize();
        };
    }

    @Override
    public void allToAll(Tensor send, Tensor recv) {
        backend.synchronize();
        inner.allToAll(send, recv);
    }

    @Override
    public void allGather(Tensor send, Tensor recv) {
        backend.synchronize();
        inner.allGather(send, recv);
    }

    @Override
    public void reduceScatter(Tensor send, Tensor recv) {
        backend.synchronize();
        inner.reduceScatter(send, recv);
    }

    @Override
    public void allReduce(Tensor inout) {
        backend.synchronize();
        inner.allReduce(inout);
    }

    @Override
    public void barrier() {
        inner.barrier();
    }

    @Override
    public Communicator split(int color, int key) {
        return new SynchronizingCommunicator(inner.split(color, key), backend);
    }

    @Override
    public Traffic traffic() {
        return inner.traffic();
    }

    @Override
    public void close() {
        inner.close();
    }
}
