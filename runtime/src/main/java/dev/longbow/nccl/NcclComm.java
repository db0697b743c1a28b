package dev.longbow.nccl;

import static dev.longbow.bindings.nccl.nccl_h.*;

import dev.longbow.cuda.Stream;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * One rank's NCCL communicator, bound to the device whose context was current when it was made.
 * Every collective is enqueued on the stream it names and returns at once; ranks call the same
 * collectives in the same order. Tensors are device tensors; counts come from their shapes.
 * {@link #close()} destroys it; {@link #abort()} tears it down without waiting for peers.
 */
public final class NcclComm implements AutoCloseable {
    private final MemorySegment handle;
    private final int rank;
    private final int size;
    private boolean closed;

    private NcclComm(MemorySegment handle) {
        this.handle = handle;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(C_INT);
            NcclException.check("ncclCommUserRank", ncclCommUserRank(handle, value), handle);
            this.rank = value.get(C_INT, 0);
            NcclException.check("ncclCommCount", ncclCommCount(handle, value), handle);
            this.size = value.get(C_INT, 0);
        }
    }

    /** Joins the group of {@code size} ranks named by {@code id} as {@code rank}; blocks until all have joined. */
    public static NcclComm initRank(NcclUniqueId id, int size, int rank) {
        if (rank < 0 || rank >= size) {
            throw new IllegalArgumentException("rank " + rank + " outside a group of " + size);
        }
        NcclLibrary.require();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment comm = arena.allocate(C_POINTER);
            NcclException.check("ncclCommInitRank", ncclCommInitRank(comm, size, id.toStruct(arena), rank), MemorySegment.NULL);
            return new NcclComm(comm.get(C_POINTER, 0));
        }
    }

    /** One communicator per device, for one process driving them all (rank i is {@code devices[i]}). */
    public static List<NcclComm> initAll(int... devices) {
        NcclLibrary.require();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment comms = arena.allocate(C_POINTER, devices.length);
            NcclException.check("ncclCommInitAll", ncclCommInitAll(comms, devices.length, arena.allocateFrom(C_INT, devices)),
                    MemorySegment.NULL);
            List<NcclComm> result = new ArrayList<>();
            for (int i = 0; i < devices.length; i++) {
                result.add(new NcclComm(comms.getAtIndex(C_POINTER, i)));
            }
            return result;
        }
    }

    /**
     * Collective: ranks passing the same {@code color} form a new communicator, ranked by
     * {@code key} then by rank. A rank passing {@code -1} (NCCL_SPLIT_NOCOLOR) joins none and gets null.
     */
    public NcclComm split(int color, int key) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment comm = arena.allocate(C_POINTER);
            NcclException.check("ncclCommSplit", ncclCommSplit(handle(), color, key, comm, MemorySegment.NULL), handle);
            MemorySegment split = comm.get(C_POINTER, 0);
            return split.equals(MemorySegment.NULL) ? null : new NcclComm(split);
        }
    }

    /** {@code recv} = elementwise {@code op} over ranks of {@code send}; {@code send == recv} works in place. */
    public void allReduce(Tensor send, Tensor recv, NcclOp op, Stream stream) {
        requireSameLayout("allReduce", send, recv);
        NcclException.check("ncclAllReduce", ncclAllReduce(device(send), device(recv), send.numel(),
                NcclDataTypes.of(send.dtype()), op.code(), handle(), stream.handle()), handle);
    }

    /** {@code recv} holds every rank's {@code send}, in rank order: {@code recv.numel() == size * send.numel()}. */
    public void allGather(Tensor send, Tensor recv, Stream stream) {
        requireBlocks("allGather", recv, send);
        NcclException.check("ncclAllGather", ncclAllGather(device(send), device(recv), send.numel(),
                NcclDataTypes.of(send.dtype()), handle(), stream.handle()), handle);
    }

    /** {@code recv} = {@code op} over ranks of block {@link #rank()} of their {@code send}: {@code send.numel() == size * recv.numel()}. */
    public void reduceScatter(Tensor send, Tensor recv, NcclOp op, Stream stream) {
        requireBlocks("reduceScatter", send, recv);
        NcclException.check("ncclReduceScatter", ncclReduceScatter(device(send), device(recv), recv.numel(),
                NcclDataTypes.of(send.dtype()), op.code(), handle(), stream.handle()), handle);
    }

    /** Sends {@code tensor} to {@code peer}; pair it with the peer's {@link #recv} inside one {@link Nccl#group()}. */
    public void send(Tensor tensor, int peer, Stream stream) {
        requirePeer(peer);
        NcclException.check("ncclSend", ncclSend(device(tensor), tensor.numel(), NcclDataTypes.of(tensor.dtype()), peer,
                handle(), stream.handle()), handle);
    }

    public void recv(Tensor tensor, int peer, Stream stream) {
        requirePeer(peer);
        NcclException.check("ncclRecv", ncclRecv(device(tensor), tensor.numel(), NcclDataTypes.of(tensor.dtype()), peer,
                handle(), stream.handle()), handle);
    }

    /**
     * Block j of {@code send} goes to rank j; block i of {@code recv} comes from rank i (blocks
     * split the outermost dimension into {@link #size()} parts). One group of send/recv pairs,
     * as NCCL's documentation builds all-to-all.
     */
    public void allToAll(Tensor send, Tensor recv, Stream stream) {
        if (send.dtype() != recv.dtype() || send.numel() != recv.numel()) {
            throw new IllegalArgumentException("allToAll: " + send + " and " + recv + " must have the same dtype and element count");
        }
        for (Tensor t : new Tensor[] {send, recv}) {
            if (t.dim(0) % size != 0) {
                throw new IllegalArgumentException("allToAll of " + t + ": " + t.dim(0) + " rows do not split into " + size + " ranks");
            }
        }
        // Block j is the j-th 1/size of each tensor, whatever the shapes of the two (the SPI lets
        // the sender's [P * n, ...] and the receiver's [P * m, ...] differ as long as the blocks match).
        Tensor flatSend = send.view(send.numel());
        Tensor flatRecv = recv.view(recv.numel());
        long block = send.numel() / size;
        try (NcclGroup group = Nccl.group()) {
            for (int peer = 0; peer < size; peer++) {
                send(flatSend.rows(peer * block, block), peer, stream);
                recv(flatRecv.rows(peer * block, block), peer, stream);
            }
        }
    }

    /** Throws if an error happened in the background (a peer died, a network failure): then {@link #abort()}. */
    public void checkAsyncError() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment error = arena.allocate(C_INT);
            NcclException.check("ncclCommGetAsyncError", ncclCommGetAsyncError(handle(), error), handle);
            NcclException.check("ncclCommGetAsyncError (asynchronous)", error.get(C_INT, 0), handle);
        }
    }

    public int rank() {
        return rank;
    }

    public int size() {
        return size;
    }

    /** The CUDA device ordinal this communicator runs on. */
    public int device() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment device = arena.allocate(C_INT);
            NcclException.check("ncclCommCuDevice", ncclCommCuDevice(handle(), device), handle);
            return device.get(C_INT, 0);
        }
    }

    /** Frees the communicator at once, abandoning pending work: the way out after an async error. */
    public void abort() {
        if (!closed) {
            closed = true;
            NcclException.check("ncclCommAbort", ncclCommAbort(handle), MemorySegment.NULL);
        }
    }

    /** Waits for this rank's pending operations, then frees the communicator. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            NcclException.check("ncclCommFinalize", ncclCommFinalize(handle), handle);
            NcclException.check("ncclCommDestroy", ncclCommDestroy(handle), MemorySegment.NULL);
        }
    }

    private MemorySegment handle() {
        if (closed) {
            throw new IllegalStateException("NCCL communicator (rank " + rank + " of " + size + ") is closed");
        }
        return handle;
    }

    private void requirePeer(int peer) {
        if (peer < 0 || peer >= size) {
            throw new IllegalArgumentException("peer " + peer + " outside a group of " + size);
        }
    }

    private static MemorySegment device(Tensor tensor) {
        if (tensor.placement() != Placement.DEVICE) {
            throw new IllegalArgumentException("NCCL moves device tensors; " + tensor + " is on the host");
        }
        return tensor.data();
    }

    private static void requireSameLayout(String what, Tensor a, Tensor b) {
        if (!a.sameLayout(b)) {
            throw new IllegalArgumentException(what + ": " + a + " and " + b + " must have the same dtype and shape");
        }
    }

    /** {@code whole} must hold {@link #size()} blocks of {@code part}'s size and dtype. */
    private void requireBlocks(String what, Tensor whole, Tensor part) {
        if (whole.dtype() != part.dtype() || whole.numel() != part.numel() * size) {
            throw new IllegalArgumentException(what + ": " + whole + " must hold " + size + " blocks of " + part);
        }
    }

    @Override
    public String toString() {
        return "NcclComm[rank " + rank + " of " + size + "]";
    }
}
