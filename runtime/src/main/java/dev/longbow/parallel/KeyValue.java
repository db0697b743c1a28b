package dev.longbow.parallel;

import dev.longbow.backend.Pending;
import dev.longbow.backend.TensorOps;
import dev.longbow.comm.Communicator;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;

/** A block of keys and values, or of their gradients, that travels between ranks as one. */
record KeyValue(Tensor k, Tensor v) {

    /** The slab's tensors {@code prefix + "k" + slot} and {@code prefix + "v" + slot}. */
    static KeyValue of(Slab slab, String prefix, int slot) {
        return new KeyValue(slab.get(prefix + "k" + slot), slab.get(prefix + "v" + slot));
    }

    void fill(TensorOps ops, float value) {
        ops.fill(k, value);
        ops.fill(v, value);
    }

    /** {@code this += other}. */
    void add(TensorOps ops, KeyValue other) {
        ops.axpy(1f, other.k, k);
        ops.axpy(1f, other.v, v);
    }

    /** Posts the send of this block to rank {@code to} and the receive of another from {@code from} into {@code into}. */
    Pending sendRecv(Communicator comm, int to, KeyValue into, int from) {
        return Pending.all(comm.sendRecv(k, to, into.k, from), comm.sendRecv(v, to, into.v, from));
    }
}
