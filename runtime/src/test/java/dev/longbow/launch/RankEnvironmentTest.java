package dev.longbow.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

class RankEnvironmentTest {

    @Test
    void torchrunVariablesOnePerNodeDrivingEightDevices() {
        RankEnvironment e = RankEnvironment.from(Map.of("RANK", "2", "WORLD_SIZE", "4", "LOCAL_RANK", "0",
                "MASTER_ADDR", "node0", "MASTER_PORT", "29400"), 8);
        assertEquals(new RankEnvironment(2, 4, 0, 8, "node0", 29400, "RANK/WORLD_SIZE variables"), e);
        assertEquals(32, e.worldSize());
        assertEquals(16, e.globalRank(0));
        assertEquals(23, e.globalRank(7));
        assertEquals(7, e.deviceOrdinal(7));
    }

    @Test
    void torchrunVariablesOneProcessPerDevice() {
        RankEnvironment e = RankEnvironment.from(Map.of("RANK", "5", "WORLD_SIZE", "8", "LOCAL_RANK", "1",
                "MASTER_ADDR", "n0", "MASTER_PORT", "1234", RankEnvironment.DEVICES_PER_PROCESS, "1"), 4);
        assertEquals(5, e.globalRank(0));
        assertEquals(1, e.deviceOrdinal(0));
    }

    @Test
    void slurmVariablesPutTheMasterOnTheFirstHostAndDeriveThePortFromTheJob() {
        RankEnvironment e = RankEnvironment.from(Map.of("SLURM_PROCID", "3", "SLURM_NTASKS", "4", "SLURM_LOCALID", "0",
                "SLURM_JOB_NODELIST", "dgx[007-010]", "SLURM_JOB_ID", "123456"), 8);
        assertEquals("dgx007", e.masterHost());
        assertEquals(RankEnvironment.SLURM_PORT_BASE + 3456, e.masterPort());
        assertEquals(24, e.globalRank(0));
    }

    @Test
    void explicitVariablesWinOverSlurm() {
        RankEnvironment e = RankEnvironment.from(Map.of("RANK", "1", "WORLD_SIZE", "2", "MASTER_ADDR", "m", "MASTER_PORT", "5000",
                "SLURM_PROCID", "0", "SLURM_NTASKS", "9", "SLURM_JOB_NODELIST", "x[1-9]", "SLURM_JOB_ID", "1"), 1);
        assertEquals(1, e.processRank());
        assertEquals(2, e.processCount());
    }

    @Test
    void noVariablesIsOneProcess() {
        RankEnvironment e = RankEnvironment.from(Map.of(), 2);
        assertEquals(0, e.processRank());
        assertEquals(1, e.processCount());
        assertEquals(2, e.worldSize());
    }

    @Test
    void badValuesAreNamed() {
        assertEquals("MASTER_ADDR is not set (reading RANK/WORLD_SIZE variables)", assertThrows(IllegalArgumentException.class,
                () -> RankEnvironment.from(Map.of("RANK", "0", "WORLD_SIZE", "2", "MASTER_PORT", "1"), 1)).getMessage());
        assertEquals("WORLD_SIZE='four' is not an integer", assertThrows(IllegalArgumentException.class,
                () -> RankEnvironment.from(Map.of("RANK", "0", "WORLD_SIZE", "four"), 1)).getMessage());
        assertEquals("master port 70000 out of range [1, 65535] (RANK/WORLD_SIZE variables)", assertThrows(IllegalArgumentException.class,
                () -> RankEnvironment.from(Map.of("RANK", "0", "WORLD_SIZE", "2", "MASTER_ADDR", "m", "MASTER_PORT", "70000"), 1)).getMessage());
        assertEquals("SLURM_JOB_ID is not set (reading Slurm variables without MASTER_PORT)", assertThrows(IllegalArgumentException.class,
                () -> RankEnvironment.from(Map.of("SLURM_PROCID", "0", "SLURM_NTASKS", "2", "SLURM_JOB_NODELIST", "a"), 1)).getMessage());
    }
}
