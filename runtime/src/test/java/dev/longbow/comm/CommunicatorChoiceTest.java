package dev.longbow.comm;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Choosing a launcher: by backend (never one that runs only by name), by name, on a list of devices. */
class CommunicatorChoiceTest {
    private static final RankLauncher LOCAL = new Fake("local", null, false);
    private static final RankLauncher NCCL = new Fake("nccl", BackendChoice.CUDA, false);
    private static final RankLauncher DEVICE = new Fake("device", BackendChoice.CUDA, true);
    private static final List<RankLauncher> ALL = List.of(DEVICE, LOCAL, NCCL);

    @Test
    void aBackendGetsItsOwnLauncherNeverOneThatRunsOnlyByName() {
        assertSame(NCCL, RankLaunchers.forBackend(ALL, BackendChoice.CUDA));
        assertSame(LOCAL, RankLaunchers.forBackend(ALL, BackendChoice.CPU));
    }

    @Test
    void twoDefaultLaunchersForOneBackendAreRefused() {
        var e = assertThrows(IllegalStateException.class,
                () -> RankLaunchers.forBackend(List.of(LOCAL, NCCL, new Fake("other", BackendChoice.CUDA, false)), BackendChoice.CUDA));
        assertEquals("communicators [nccl, other] all claim backend 'cuda'; each backend has one default communicator", e.getMessage());
    }

    @Test
    void aLauncherIsFoundByNameWhenItMovesTheBackendsMemory() {
        assertSame(DEVICE, RankLaunchers.named(ALL, "device", BackendChoice.CUDA));
        var wrongBackend = assertThrows(IllegalArgumentException.class, () -> RankLaunchers.named(ALL, "device", BackendChoice.CPU));
        assertEquals("communicator 'device' does not move the memory of backend 'cpu'; for 'cpu' choose one of [local]",
                wrongBackend.getMessage());
        var unknown = assertThrows(IllegalArgumentException.class, () -> RankLaunchers.named(ALL, "gloo", BackendChoice.CUDA));
        assertEquals("unknown communicator 'gloo'; available: [device, local, nccl]", unknown.getMessage());
    }

    @Test
    void theCommandLineFormNamesADeviceListOnlyWithACommunicator() {
        assertEquals(new CommunicatorChoice("device", List.of(0, 1)), CommunicatorChoice.fromCommandLine("device", "0, 1"));
        assertEquals(CommunicatorChoice.DEFAULT, CommunicatorChoice.fromCommandLine(null, null));
        var noName = assertThrows(IllegalArgumentException.class, () -> CommunicatorChoice.fromCommandLine(null, "0,1"));
        assertTrue(noName.getMessage().startsWith("--gpus 0,1 needs --communicator device"), noName.getMessage());
        var notANumber = assertThrows(IllegalArgumentException.class, () -> CommunicatorChoice.fromCommandLine("device", "0,x"));
        assertEquals("--gpus '0,x': 'x' is not a device ordinal; give ordinals separated by commas, like 0,1", notANumber.getMessage());
        var negative = assertThrows(IllegalArgumentException.class, () -> CommunicatorChoice.fromCommandLine("device", "-1"));
        assertEquals("device ordinal -1 in [-1] must be >= 0", negative.getMessage());
    }

    @Test
    void aLauncherThatPlacesItsRanksItselfRefusesADeviceList() {
        var e = assertThrows(IllegalArgumentException.class, () -> NCCL.withDevices(List.of(0, 0)));
        assertTrue(e.getMessage().startsWith("communicator 'nccl' places its ranks itself"), e.getMessage());
    }

    /** A launcher that serves one backend (or all, for {@code null}) and runs nothing. */
    private record Fake(String name, BackendChoice backend, boolean onlyByName) implements RankLauncher {
        @Override
        public String unavailableReason() {
            return null;
        }

        @Override
        public boolean serves(BackendChoice backendName) {
            return backend == null || backend.equals(backendName);
        }

        @Override
        public <T> List<T> run(int ranks, BackendChoice backendName, Duration collectiveTimeout, RankTask<T> task) {
            throw new UnsupportedOperationException();
        }
    }

    /** The typed handles are the command line's names: the same choices, the same refusals. */
    @Test
    void theHandlesAreTheCommandLinesChoices() {
        assertEquals(CommunicatorChoice.fromCommandLine("device", "0,1"), CommunicatorChoice.DEVICE.onDevices(0, 1));
        assertEquals(CommunicatorChoice.fromCommandLine("local", null), CommunicatorChoice.LOCAL);
        assertEquals(CommunicatorChoice.fromCommandLine("nccl", null), CommunicatorChoice.NCCL);
        assertEquals(CommunicatorChoice.fromCommandLine(null, null), CommunicatorChoice.DEFAULT);
        assertEquals("local", CommunicatorChoice.LOCAL.launcher(BackendChoice.CPU).name());
        var e = assertThrows(IllegalArgumentException.class, () -> CommunicatorChoice.DEFAULT.onDevices(0, 0));
        assertTrue(e.getMessage().contains("only a communicator chosen by name does"), e.getMessage());
    }
}
