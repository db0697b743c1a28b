package dev.longbow.comm.nccl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.longbow.backend.Backend;
import dev.longbow.comm.CollectiveTimeout;
import dev.longbow.comm.Communicator;
import dev.longbow.comm.CommunicatorContract;
import dev.longbow.comm.RankFailedException;
import dev.longbow.comm.RankMemory;
import dev.longbow.comm.RankTask;
import dev.longbow.cuda.Cuda;
import dev.longbow.nccl.Nccl;
import dev.longbow.nccl.NcclUniqueId;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The NCCL communicator passes the contract every communicator passes, on as many ranks as this
 * machine has GPUs (NCCL refuses two ranks on one GPU, so on a one-GPU machine only P=1 runs and
 * the larger P are skipped, saying so), and orders its transfers with the rank's compute stream.
 */
@Tag("gpu")
class NcclCommunicatorGpuTest extends CommunicatorContract {
    /** 64 MiB of f32: a fill of this size runs long enough on the compute stream for a missing wait to show. */
    private static final long BIG = 1L << 24;
    private static final int ROUNDS = 3;
    private static int gpus;

    @BeforeAll
    static void ncclIsHere() {
        String reason = new NcclLauncher(Map.of()).unavailableReason();
        assertNull(reason, "the NCCL communicator tests need the CUDA driver, a GPU and libnccl.so.2: " + reason);
        gpus = Cuda.deviceCount();
        System.out.println("NCCL " + Nccl.version() + " from " + Nccl.load() + "; " + gpus + " GPU(s), GPU 0: " + Cuda.device(0));
    }

    @Override
    protected <T> List<T> onRanks(int ranks, RankTask<T> task) {
        assumeTrue(ranks <= gpus, "P=" + ranks + " needs " + ranks + " GPUs (NCCL runs one rank per GPU); this machine has " + gpus);
        return NcclRanks.run(NodeRanks.of(ranks, Map.of(), gpus), NcclUniqueId.create(), CopyOnlyCudaBackend::new, task,
                CollectiveTimeout.DEFAULT);
    }

    @Test
    void sendRecvWaitsForComputeAndComputeWaitsForItsPending() {
        inOrder("sendRecv", (comm, b) -> comm.sendRecv(b.send, comm.rank(), b.recv, comm.rank()).await());
    }

    @Test
    void collectivesWaitForComputeAndComputeWaitsForThem() {
        inOrder("allGather", (comm, b) -> comm.allGather(b.send, b.recv));
    }

    /**
     * Each round fills {@code send} with the round's number on the compute stream, moves it into
     * {@code recv} with {@code move} (one rank: to itself), and copies {@code recv} aside on the
     * compute stream. Only if the transfer waited for the fill and the copy waited for the
     * transfer does round r's copy hold r everywhere.
     */
    private void inOrder(String what, BiConsumer<Communicator, Buffers> move) {
        onRanks(1, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                Buffers b = new Buffers(mem.zeros(DType.F32, BIG), mem.zeros(DType.F32, BIG));
                Tensor seen = mem.zeros(DType.F32, ROUNDS, BIG);
                backend.synchronize();
                for (int round = 0; round < ROUNDS; round++) {
                    backend.tensors().fill(b.send, round + 1);
                    move.accept(comm, b);
                    backend.tensors().copy(b.recv, seen.rows(round, 1).view(BIG));
                }
                for (int round = 0; round < ROUNDS; round++) {
                    float[] got = mem.download(seen.rows(round, 1).view(BIG));
                    for (int i = 0; i < got.length; i++) {
                        if (got[i] != round + 1) {
                            fail(what + " round " + (round + 1) + ": element " + i + " of " + got.length + " holds " + got[i]
                                    + " (" + (got[i] == round ? "the previous round's value: the transfer did not wait for the fill"
                                    : "not this round's value: the copy did not wait for the transfer") + ")");
                        }
                    }
                }
            }
            return null;
        });
    }

    private record Buffers(Tensor send, Tensor recv) {
    }

    @Test
    void hostTensorsAreRefused() {
        onRanks(1, (backend, comm) -> {
            Tensor host = new Tensor(MemorySegment.ofArray(new float[4]), DType.F32, Shape.of(4), Placement.HOST);
            var e = assertThrows(IllegalArgumentException.class, () -> comm.allReduce(host));
            assertTrue(e.getMessage().contains("moves device tensors"), e.getMessage());
            return null;
        });
    }

    @Test
    void aFailedLaunchLeavesTheGpuUsable() {
        RankFailedException e = assertThrows(RankFailedException.class, () -> onRanks(1, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                comm.allReduce(mem.zeros(DType.F32, 8));
                throw new IllegalStateException("boom after a collective");
            }
        }));
        assertEquals(0, e.rank());
        assertInstanceOf(IllegalStateException.class, e.getCause());
        List<Float> after = onRanks(1, (Backend backend, Communicator comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                Tensor t = mem.upload(DType.F32, new float[] {7}, 1);
                Tensor all = mem.zeros(DType.F32, 1);
                comm.allGather(t, all);
                return mem.download(all)[0];
            }
        });
        assertEquals(List.of(7f), after);
    }

    /**
     * A rank that never calls the all-reduce its peer waits in: on a GPU the peer's NCCL kernel
     * would wait forever; the watchdog ends it at the collective deadline, naming the call, and
     * the launch fails as a whole.
     */
    @Test
    void aRankThatSkipsACollectiveStopsTheLaunchAtTheDeadline() {
        assumeTrue(gpus >= 2, "needs two GPUs");
        long started = System.nanoTime();
        RankFailedException e = assertThrows(RankFailedException.class, () -> NcclRanks.run(NodeRanks.of(2, Map.of(), gpus),
                NcclUniqueId.create(), CopyOnlyCudaBackend::new, (backend, comm) -> {
                    try (RankMemory mem = new RankMemory(backend)) {
                        if (comm.rank() == 0) {
                            comm.allReduce(mem.zeros(DType.F32, 8));
                            backend.synchronize();
                        }
                        return null;
                    }
                }, Duration.ofSeconds(2)));
        double seconds = (System.nanoTime() - started) / 1e9;
        assertTrue(seconds < 20, "the launch ended after " + seconds + " s, the deadline is 2 s");
        String all = e + " " + (e.getCause() == null ? "" : e.getCause());
        assertTrue(all.contains("allReduce") || all.contains("all-reduce"), all);
    }

    @Test
    void aSplitWithANegativeColorIsRefused() {
        onRanks(1, (backend, comm) -> {
            var e = assertThrows(IllegalArgumentException.class, () -> comm.split(-1, 0));
            assertEquals("split color -1 must be >= 0", e.getMessage());
            return null;
        });
    }
}
