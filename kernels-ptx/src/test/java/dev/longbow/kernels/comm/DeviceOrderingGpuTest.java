package dev.longbow.kernels.comm;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.fail;

import dev.longbow.backend.Backend;
import dev.longbow.backend.Pending;
import dev.longbow.comm.Communicator;
import dev.longbow.comm.RankMemory;
import dev.longbow.comm.RankTask;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Each wait of the device communicator's event protocol, tested where leaving it out shows: one
 * rank is made slow on purpose (a queue of large fills on its compute stream, or of large copies
 * on its communication stream) so that the other rank's work, unordered, would run first. The
 * stand-in's streams run truly in parallel, so a missing wait reads or overwrites a buffer at
 * the wrong time and the values say which. Every buffer moves {@link #N} floats, every round
 * has its own values, and whatever a rank reads is copied aside on its compute stream at once.
 */
@Tag("gpu")
class DeviceOrderingGpuTest {
    /** 16 MiB of f32 per buffer: a copy or fill of it takes long enough on the stand-in for a race to show. */
    private static final long N = 1L << 22;
    /** Fills (or copies) of N floats that keep one rank's stream busy while the other goes on. */
    private static final int DELAY = 12;
    private static final int ROUNDS = 3;

    /** READY: a peer's communication stream reads a send only after its owner's compute wrote it. */
    @Test
    void aCollectiveReadsEachSendOnlyAfterItsOwnerWroteIt() {
        onTwoRanks((backend, comm, mem) -> {
            Tensor send = mem.zeros(DType.F32, N);
            Tensor recv = mem.zeros(DType.F32, 2 * N);
            Tensor seen = mem.zeros(DType.F32, ROUNDS, 2 * N);
            Tensor busy = mem.zeros(DType.F32, N);
            for (int round = 1; round <= ROUNDS; round++) {
                if (comm.rank() == 0) {
                    delayCompute(backend, busy);    // rank 0 writes its send late
                }
                backend.tensors().fill(send, value(comm.rank(), round));
                comm.allGather(send, recv);
                backend.tensors().copy(recv, row(seen, round));
            }
            for (int round = 1; round <= ROUNDS; round++) {
                expect(comm, "allGather round " + round, mem.download(row(seen, round)), value(0, round), value(1, round));
            }
        });
    }

    /** READ of the peers: an owner's compute writes its send again only after every peer has read it. */
    @Test
    void aCollectiveLeavesEachSendAloneUntilEveryPeerReadIt() {
        onTwoRanks((backend, comm, mem) -> {
            Tensor send = mem.zeros(DType.F32, N);
            Tensor recv = mem.zeros(DType.F32, 2 * N);
            Tensor seen = mem.zeros(DType.F32, ROUNDS, 2 * N);
            Delay delay = new Delay(mem);
            for (int round = 1; round <= ROUNDS; round++) {
                backend.tensors().fill(send, value(comm.rank(), round));
                List<Pending> late = comm.rank() == 1 ? delay.comm(comm) : List.of();    // rank 1 reads late
                comm.allGather(send, recv);
                backend.tensors().fill(send, -1);    // the next use of the send buffer
                backend.tensors().copy(recv, row(seen, round));
                late.forEach(Pending::await);
            }
            for (int round = 1; round <= ROUNDS; round++) {
                expect(comm, "allGather round " + round, mem.download(row(seen, round)), value(0, round), value(1, round));
            }
        });
    }

    /** In place: an all-reduce writes its sum over its input only after every peer has read the input. */
    @Test
    void anAllReduceOverwritesItsInputOnlyAfterEveryPeerReadIt() {
        onTwoRanks((backend, comm, mem) -> {
            Tensor inout = mem.zeros(DType.F32, N);
            Tensor seen = mem.zeros(DType.F32, ROUNDS, N);
            Delay delay = new Delay(mem);
            for (int round = 1; round <= ROUNDS; round++) {
                backend.tensors().fill(inout, value(comm.rank(), round));
                List<Pending> late = comm.rank() == 1 ? delay.comm(comm) : List.of();
                comm.allReduce(inout);
                backend.tensors().copy(inout, row(seen, round));
                late.forEach(Pending::await);
            }
            for (int round = 1; round <= ROUNDS; round++) {
                expect(comm, "allReduce round " + round, mem.download(row(seen, round)), value(0, round) + value(1, round));
            }
        });
    }

    /** In place: an all-to-all whose recv is its send writes only after every peer has read its block. */
    @Test
    void anInPlaceAllToAllWritesOnlyAfterEveryPeerReadItsBlock() {
        onTwoRanks((backend, comm, mem) -> {
            Tensor buffer = mem.zeros(DType.F32, 2 * N);
            Tensor seen = mem.zeros(DType.F32, ROUNDS, 2 * N);
            Delay delay = new Delay(mem);
            for (int round = 1; round <= ROUNDS; round++) {
                backend.tensors().fill(buffer, value(comm.rank(), round));
                List<Pending> late = comm.rank() == 1 ? delay.comm(comm) : List.of();
                comm.allToAll(buffer, buffer);
                backend.tensors().copy(buffer, row(seen, round));
                late.forEach(Pending::await);
            }
            for (int round = 1; round <= ROUNDS; round++) {
                expect(comm, "allToAll round " + round, mem.download(row(seen, round)), value(0, round), value(1, round));
            }
        });
    }

    /**
     * sendRecv, the sender late: the copy waits for the sender's READY, and the receiver's await
     * makes its compute wait for the copy.
     */
    @Test
    void aTransferCopiesOnlyAfterTheSenderWroteAndArrivesBeforeTheReceiverReads() {
        onTwoRanks((backend, comm, mem) -> {
            Tensor send = mem.zeros(DType.F32, N);
            Tensor recv = mem.zeros(DType.F32, N);
            Tensor seen = mem.zeros(DType.F32, ROUNDS, N);
            Tensor busy = mem.zeros(DType.F32, N);
            int peer = 1 - comm.rank();
            for (int round = 1; round <= ROUNDS; round++) {
                if (comm.rank() == 0) {
                    delayCompute(backend, busy);
                }
                backend.tensors().fill(send, value(comm.rank(), round));
                comm.sendRecv(send, peer, recv, peer).await();
                backend.tensors().copy(recv, row(seen, round));
            }
            for (int round = 1; round <= ROUNDS; round++) {
                expect(comm, "sendRecv round " + round, mem.download(row(seen, round)), value(peer, round));
            }
        });
    }

    /**
     * sendRecv, the receiver late: the copy waits for the receiver's READY (its last write of the
     * buffer it receives into), and the sender's await makes its compute wait for the copy before
     * it writes the send again.
     */
    @Test
    void aTransferLandsOnlyAfterTheReceiverIsDoneAndBeforeTheSenderWritesAgain() {
        onTwoRanks((backend, comm, mem) -> {
            Tensor send = mem.zeros(DType.F32, N);
            Tensor recv = mem.zeros(DType.F32, N);
            Tensor seen = mem.zeros(DType.F32, ROUNDS, N);
            Tensor busy = mem.zeros(DType.F32, N);
            int peer = 1 - comm.rank();
            for (int round = 1; round <= ROUNDS; round++) {
                if (comm.rank() == 1) {
                    delayCompute(backend, busy);
                }
                backend.tensors().fill(recv, -2);     // the receive buffer's previous use
                backend.tensors().fill(send, value(comm.rank(), round));
                comm.sendRecv(send, peer, recv, peer).await();
                backend.tensors().fill(send, -1);     // the send buffer's next use
                backend.tensors().copy(recv, row(seen, round));
            }
            for (int round = 1; round <= ROUNDS; round++) {
                expect(comm, "sendRecv round " + round, mem.download(row(seen, round)), value(peer, round));
            }
        });
    }

    @FunctionalInterface
    private interface RankBody {
        void run(Backend backend, Communicator comm, RankMemory mem);
    }

    private static void onTwoRanks(RankBody body) {
        RankTask<Void> task = (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                body.run(backend, comm, mem);
            }
            return null;
        };
        new DeviceLauncher().run(2, BackendChoice.CUDA, DeviceCommunicatorGpuTest.TIMEOUT, task);
    }

    /** Queues {@link #DELAY} fills of {@code busy} on the compute stream: what this rank issues next starts late. */
    private static void delayCompute(Backend backend, Tensor busy) {
        for (int i = 0; i < DELAY; i++) {
            backend.tensors().fill(busy, i);
        }
    }

    /** Large copies a rank sends to itself, queued on its communication stream before what it calls next. */
    private record Delay(Tensor from, Tensor to) {
        Delay(RankMemory mem) {
            this(mem.zeros(DType.F32, N), mem.zeros(DType.F32, N));
        }

        List<Pending> comm(Communicator comm) {
            List<Pending> pending = new ArrayList<>();
            for (int i = 0; i < DELAY; i++) {
                pending.add(comm.sendRecv(from, comm.rank(), to, comm.rank()));
            }
            return pending;
        }
    }

    private static float value(int rank, int round) {
        return 10 * round + rank + 1;
    }

    private static Tensor row(Tensor rows, int round) {
        return rows.rows(round - 1, 1).view(rows.dim(1));
    }

    /** {@code got} is {@code blocks.length} equal blocks, block i holding {@code blocks[i]} everywhere. */
    private static void expect(Communicator comm, String what, float[] got, float... blocks) {
        int block = got.length / blocks.length;
        for (int i = 0; i < got.length; i++) {
            if (got[i] != blocks[i / block]) {
                fail("rank " + comm.rank() + ", " + what + ": element " + i + " of " + got.length + " is " + got[i] + ", expected "
                        + blocks[i / block] + " (-1: a send overwritten before it was read; -2 or an earlier round's value:"
                        + " read or written out of order)");
            }
        }
    }
}
