package dev.longbow.comm.local;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.comm.CommunicatorContract;
import dev.longbow.comm.RankFailedException;
import dev.longbow.comm.RankMemory;
import dev.longbow.comm.RankTask;
import dev.longbow.tensor.DType;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class LocalCommunicatorTest extends CommunicatorContract {

    @Override
    protected <T> List<T> onRanks(int ranks, RankTask<T> task) {
        return LocalRanks.run(ranks, BackendChoice.CPU, task);
    }

    @Test
    void collectiveWithMismatchedSizesFailsOnEveryRankWithTheSameMessage() {
        RankFailedException e = assertThrows(RankFailedException.class, () -> org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
                Duration.ofSeconds(30), () -> onRanks(3, (backend, comm) -> {
                    try (RankMemory mem = new RankMemory(backend)) {
                        comm.allGather(mem.zeros(DType.F32, comm.rank() == 1 ? 5 : 4), mem.zeros(DType.F32, 3 * (comm.rank() == 1 ? 5 : 4)));
                    }
                    return null;
                })));
        assertInstanceOf(IllegalArgumentException.class, e.getCause());
        assertTrue(e.getCause().getMessage().contains("rank 1"), e.getCause().getMessage());
    }

    @Test
    void sendRecvOfDifferentSizesFailsBothSides() {
        RankFailedException e = assertThrows(RankFailedException.class, () -> onRanks(2, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                int other = 1 - comm.rank();
                comm.sendRecv(mem.zeros(DType.F32, 4), other, mem.zeros(DType.F32, comm.rank() == 0 ? 4 : 3), other).await();
            }
            return null;
        }));
        assertTrue(e.getCause().getMessage().contains("bytes sent but the receiver posted"), e.getCause().getMessage());
    }
}
