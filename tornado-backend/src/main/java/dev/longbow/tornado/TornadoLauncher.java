package dev.longbow.tornado;

import dev.longbow.backend.BackendChoice;
import dev.longbow.comm.RankLauncher;
import dev.longbow.comm.RankTask;
import dev.longbow.comm.local.LocalRanks;
import java.time.Duration;
import java.util.List;

/**
 * Ranks of the "tornado" backend as threads of this JVM: the in-process communicator, wrapped so
 * that each collective first brings the rank's tensors back from the device
 * ({@link SynchronizingCommunicator}). Ranks share the TornadoVM devices of the machine: rank r
 * opens device {@code r} modulo their number.
 */
public final class TornadoLauncher implements RankLauncher {
    public static final String NAME = "tornado-local";

    /** For {@link java.util.ServiceLoader}. */
    public TornadoLauncher() {
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String unavailableReason() {
        return null;
    }

    @Override
    public boolean serves(BackendChoice backend) {
        return BackendChoice.TORNADO.equals(backend);
    }

    @Override
    public <T> List<T> run(int ranks, BackendChoice backendName, Duration collectiveTimeout, RankTask<T> task) {
        return LocalRanks.run(ranks, backendName, collectiveTimeout, (backend, comm) -> task.run(backend, new SynchronizingCommunicator(comm, backend)));
    }
}
