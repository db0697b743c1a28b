package dev.longbow.parallel;

import dev.longbow.backend.Backend;
import dev.longbow.backend.Pending;
import dev.longbow.comm.Communicator;
import dev.longbow.tensor.Tensor;

/**
 * The query side of a block's backward: the queries, forward's output and log-sum-exp for them,
 * and the gradient that arrived at that output. WallFacer moves them between ranks as one; FPDT
 * fetches them from the host as one.
 */
record Queries(Tensor q, Tensor out, Tensor lse, Tensor dout) {

    Queries rows(Span s) {
        return new Queries(s.of(q), s.of(out), s.of(lse), s.of(dout));
    }

    /** Posts the send of these to rank {@code to} and the receive of another rank's from {@code from} into {@code into}. */
    Pending sendRecv(Communicator comm, int to, Queries into, int from) {
        return Pending.all(comm.sendRecv(q, to, into.q, from), comm.sendRecv(out, to, into.out, from),
                comm.sendRecv(dout, to, into.dout, from), comm.sendRecv(lse, to, into.lse, from));
    }

    /** Queues copies of these into {@code into} on the backend's copy stream. */
    Pending copyAsync(Backend backend, Queries into) {
        return Pending.all(backend.copyAsync(q, into.q), backend.copyAsync(out, into.out), backend.copyAsync(lse, into.lse),
                backend.copyAsync(dout, into.dout));
    }
}
