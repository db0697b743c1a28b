package dev.longbow.tornado;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.backend.AttentionOps;
import dev.longbow.backend.Backend;
import dev.longbow.backend.Backends;
import dev.longbow.backend.ModelOps;
import dev.longbow.backend.Pending;
import dev.longbow.backend.TensorOps;
import dev.longbow.comm.Communicator;
import dev.longbow.comm.local.LocalCommunicator;
import dev.longbow.tensor.Allocation;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Tensor;
import dev.longbow.testing.HostTensors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Runs without TornadoVM: the wrapper hands the rank's memory to the host before every
 * collective and again when a send/receive is awaited, and the launcher claims only "tornado".
 */
class SynchronizingCommunicatorTest {

    /** The CPU backend, counting synchronize calls. */
    private static final class CountingBackend implements Backend {
        final Backend cpu = Backends.open(BackendChoice.CPU, 0);
        final AtomicInteger synchronizations = new AtomicInteger();

        @Override
        public String name() {
            return "counting";
        }

        @Override
        public Placement placement() {
            return cpu.placement();
        }

        @Override
        public Allocation allocate(long bytes) {
            return cpu.allocate(bytes);
        }

        @Override
        public TensorOps tensors() {
            return cpu.tensors();
        }

        @Override
        public AttentionOps attention() {
            return cpu.attention();
        }

        @Override
        public ModelOps model() {
            return cpu.model();
        }

        @Override
        public Pending copyAsync(Tensor src, Tensor dst) {
            return cpu.copyAsync(src, dst);
        }

        @Override
        public void synchronize() {
            synchronizations.incrementAndGet();
        }

        @Override
        public void close() {
            cpu.close();
        }
    }

    @Test
    void everyCollectiveSynchronizesFirstAndSendRecvAgainWhenAwaited() {
        try (CountingBackend backend = new CountingBackend(); HostTensors host = new HostTensors();
             Communicator comm = new SynchronizingCommunicator(LocalCommunicator.create(1).getFirst(), backend)) {
            Tensor a = host.filled(DType.F32, 2f, 4, 3);
            Tensor b = host.zeros(DType.F32, 4, 3);
            comm.allToAll(a, b);
            comm.allGather(a, b);
            comm.reduceScatter(a, b);
            comm.allReduce(b);
            comm.barrier();
            assertEquals(4, backend.synchronizations.get(), "one per data-moving collective, none for the barrier");
            Pending transfer = comm.sendRecv(a, 0, b, 0);
            assertEquals(5, backend.synchronizations.get(), "before posting");
            transfer.await();
            assertEquals(6, backend.synchronizations.get(), "and once more when the data has arrived");
            assertEquals(2f, b.getFloat(11));
            try (Communicator sub = comm.split(0, 0)) {
                sub.allReduce(b);
            }
            assertEquals(7, backend.synchronizations.get(), "sub-communicators synchronize too");
        }
    }

    @Test
    void theLauncherServesTheTornadoBackendOnly() {
        TornadoLauncher launcher = new TornadoLauncher();
        assertTrue(launcher.serves(BackendChoice.TORNADO));
        assertFalse(launcher.serves(BackendChoice.CPU));
    }
}
