package dev.longbow.kernels.comm;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.longbow.cuda.CudaCompute;
import dev.longbow.comm.CommunicatorContract;
import dev.longbow.comm.RankMemory;
import dev.longbow.comm.RankTask;
import dev.longbow.cuda.Cuda;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The device communicator passes the contract every communicator passes: with all ranks on one
 * GPU (the default), and again with the ranks spread over every GPU present (up to four).
 */
@Tag("gpu")
class DeviceCommunicatorGpuTest {
    /** Short, so a broken meeting fails the test instead of waiting the default 10 minutes. */
    static final Duration TIMEOUT = Duration.ofSeconds(20);

    /**
     * Every event a call records goes back to its owner once all its waits are issued. After many
     * rounds of every kind of call and two barriers (each rank has met the others after they
     * finished every earlier call), at most the last barrier's event is still waited for; a count
     * off by one anywhere would leave one event per round.
     */
    @Test
    void everyEventIsGivenBackOnceItsWaitsAreIssued() {
        int p = 3;
        int rounds = 6;
        List<Integer> outstanding = new DeviceLauncher().run(p, BackendChoice.CUDA, TIMEOUT, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                Tensor block = mem.zeros(DType.F32, 4);
                Tensor blocks = mem.zeros(DType.F32, p * 4L);
                Tensor other = mem.zeros(DType.F32, p * 4L);
                Tensor arrived = mem.zeros(DType.F32, 4);
                int r = comm.rank();
                for (int round = 0; round < rounds; round++) {
                    comm.allGather(block, blocks);
                    comm.allToAll(blocks, other);
                    comm.allToAll(other, other);
                    comm.reduceScatter(other, block);
                    comm.allReduce(blocks);
                    comm.sendRecv(block, (r + 1) % p, arrived, (r + p - 1) % p).await();
                    comm.sendRecv(block, r, arrived, r).await();
                }
                comm.barrier();
                comm.barrier();
                return ((DeviceCommunicator) comm).eventsOutstanding();
            }
        });
        for (int r = 0; r < p; r++) {
            assertTrue(outstanding.get(r) <= 1, "rank " + r + ": " + outstanding.get(r) + " events still waited for after "
                    + rounds + " rounds");
        }
    }

    @Nested
    class OneGpu extends CommunicatorContract {
        @Override
        protected <T> List<T> onRanks(int ranks, RankTask<T> task) {
            return new DeviceLauncher().run(ranks, BackendChoice.CUDA, TIMEOUT, task);
        }

        @Test
        void everyRankRunsOnGpuZero() {
            assertEquals(List.of(0, 0, 0), onRanks(3, (backend, comm) -> ((CudaCompute) backend).context().ordinal()));
        }
    }

    @Nested
    class SpreadOverGpus extends CommunicatorContract {
        private List<Integer> gpus() {
            int present = Cuda.deviceCount();
            assumeTrue(present >= 2, "spreading ranks over GPUs needs two or more; this machine has " + present);
            return IntStream.range(0, Math.min(4, present)).boxed().toList();
        }

        @Override
        protected <T> List<T> onRanks(int ranks, RankTask<T> task) {
            return new DeviceLauncher().withDevices(gpus()).run(ranks, BackendChoice.CUDA, TIMEOUT, task);
        }

        @Test
        void rankROnGpuRModuloTheList() {
            assumeTrue(Cuda.deviceCount() >= 2, "needs two GPUs");
            List<Integer> ordinals = new DeviceLauncher().withDevices(List.of(1, 0))
                    .run(3, BackendChoice.CUDA, TIMEOUT, (backend, comm) -> ((CudaCompute) backend).context().ordinal());
            assertEquals(List.of(1, 0, 1), ordinals);
        }
    }
}
