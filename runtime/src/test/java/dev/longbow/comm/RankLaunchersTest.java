package dev.longbow.comm;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Launch variables that the chosen communicator cannot honour are refused: under torchrun or
 * srun the in-process communicator would run one independent copy of the job per process.
 */
class RankLaunchersTest {

    @Test
    void torchrunsVariablesForSeveralProcessesAreRefusedForThreadRanks() {
        var e = assertThrows(IllegalStateException.class, () -> RankLaunchers.forBackend(BackendChoice.CPU, Map.of("RANK", "1",
                "WORLD_SIZE", "4", "MASTER_ADDR", "node0", "MASTER_PORT", "29500")));
        assertTrue(e.getMessage().startsWith("RANK=1, WORLD_SIZE=4, MASTER_ADDR=node0, MASTER_PORT=29500 describe a job of 4 "
                + "processes, but backend 'cpu' runs all its ranks as threads of one process (communicator 'local')"), e.getMessage());
        assertTrue(e.getMessage().contains("--backend cuda"), e.getMessage());
    }

    @Test
    void srunsVariablesForSeveralTasksAreRefusedForThreadRanks() {
        var e = assertThrows(IllegalStateException.class, () -> RankLaunchers.forBackend(BackendChoice.CPU, Map.of("SLURM_PROCID", "0",
                "SLURM_NTASKS", "2")));
        assertTrue(e.getMessage().startsWith("SLURM_PROCID=0, SLURM_NTASKS=2 describe a job of 2 processes"), e.getMessage());
    }

    @Test
    void aRankWithoutAWorldSizeIsRefusedNamingTheMissingVariable() {
        var e = assertThrows(IllegalArgumentException.class, () -> RankLaunchers.forBackend(BackendChoice.CPU, Map.of("RANK", "0")));
        assertEquals("WORLD_SIZE is not set (reading the launch environment)", e.getMessage());
    }

    @Test
    void aJobOfOneProcessRunsOnThreads() {
        assertEquals("local", RankLaunchers.forBackend(BackendChoice.CPU, Map.of("RANK", "0", "WORLD_SIZE", "1")).name());
        assertEquals("local", RankLaunchers.forBackend(BackendChoice.CPU, Map.of("SLURM_PROCID", "0", "SLURM_NTASKS", "1")).name());
        assertEquals("local", RankLaunchers.forBackend(BackendChoice.CPU, Map.of("MASTER_ADDR", "node0")).name());
    }
}
