package dev.longbow.parallel;

import dev.longbow.backend.Backend;
import dev.longbow.backend.Pending;
import dev.longbow.backend.TensorOps;
import dev.longbow.comm.Communicator;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;

/** A block of keys and values, or of their gradients, that travels between ranks as one. */
record KeyValue(Tensor k, Tensor v) {

    /** Declares a K and a V of {@code rows} tokens in {@code slab}, named {@code name + "k"} and {@code name + "v"}. */
    static Slab.Builder declare(Slab.Builder slab, String name, DType dtype, long rows, long kvHeads, long headDim) {
        return slab.add(name + "k", dtype, rows, kvHeads, headDim).add(name + "v", dtype, rows, kvHeads, headDim);
    }

    /** The K and V {@link #declare} named {@code name} in {@code slab}. */
    static KeyValue in(Slab slab, String name) {
        return new KeyValue(slab.get(name + "k"), slab.get(name + "v"));
    }

    KeyValue rows(Span s) {
        return new KeyValue(s.of(k), s.of(v));
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

    /** Queues copies of this block into {@code into} on the backend's copy stream. */
    Pending copyAsync(Backend backend, KeyValue into) {
        return Pending.all(backend.copyAsync(k, into.k), backend.copyAsync(v, into.v));
    }
}
