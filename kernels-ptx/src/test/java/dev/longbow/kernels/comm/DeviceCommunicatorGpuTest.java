package dev.longbow.kernels.comm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.longbow.backend.CudaCompute;
import dev.longbow.comm.CommunicatorContract;
import dev.longbow.comm.RankTask;
import dev.longbow.cuda.Cuda;
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

    @Nested
    class OneGpu extends CommunicatorContract {
        @Override
        protected <T> List<T> onRanks(int ranks, RankTask<T> task) {
            return new DeviceLauncher().withTimeout(TIMEOUT).run(ranks, "cuda", task);
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
            return new DeviceLauncher().withDevices(gpus()).withTimeout(TIMEOUT).run(ranks, "cuda", task);
        }

        @Test
        void rankROnGpuRModuloTheList() {
            assumeTrue(Cuda.deviceCount() >= 2, "needs two GPUs");
            List<Integer> ordinals = new DeviceLauncher().withDevices(List.of(1, 0)).withTimeout(TIMEOUT)
                    .run(3, "cuda", (backend, comm) -> ((CudaCompute) backend).context().ordinal());
            assertEquals(List.of(1, 0, 1), ordinals);
        }
    }
}
