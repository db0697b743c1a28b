package dev.longbow.kernels.comm;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.comm.RankLauncher;
import dev.longbow.comm.RankLaunchers;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What needs no GPU: the launcher is found by its name, only by its name, and refuses bad settings by value. */
class DeviceLauncherTest {

    @Test
    void serviceLoaderFindsTheDeviceLauncherWhichRunsOnlyWhenNamed() {
        RankLauncher device = RankLaunchers.launchers().stream().filter(l -> l.name().equals("device")).findFirst().orElseThrow();
        assertTrue(device.onlyByName(), "NCCL stays the default communicator of backend cuda");
        assertTrue(device.serves(BackendChoice.CUDA));
        assertFalse(device.serves(BackendChoice.CPU));
        assertEquals(List.of(0), ((DeviceLauncher) device).gpus(), "every rank on GPU 0 by default");
    }

    @Test
    void ranksGoOnTheListedGpus() {
        assertEquals(List.of(1, 0), new DeviceLauncher().withDevices(List.of(1, 0)).gpus());
    }

    @Test
    void badSettingsAreRefusedNamingTheValue() {
        var empty = assertThrows(IllegalArgumentException.class, () -> new DeviceLauncher().withDevices(List.of()));
        assertEquals("the device communicator needs at least one GPU to place its ranks on", empty.getMessage());
        var negative = assertThrows(IllegalArgumentException.class, () -> new DeviceLauncher().withDevices(List.of(0, -2)));
        assertEquals("GPU -2 in [0, -2] must be >= 0", negative.getMessage());
        var timeout = assertThrows(IllegalArgumentException.class,
                () -> new DeviceLauncher().run(2, BackendChoice.CUDA, Duration.ZERO, (b, c) -> null));
        assertTrue(timeout.getMessage().startsWith("the device communicator's collective timeout: a collective timeout must be"
                + " more than 0"), timeout.getMessage());
        var ranks = assertThrows(IllegalArgumentException.class, () -> new DeviceLauncher().run(0, BackendChoice.CUDA, (b, c) -> null));
        assertEquals("asked for 0 ranks; at least 1 is needed", ranks.getMessage());
    }
}
