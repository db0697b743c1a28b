package dev.longbow.comm.local;

import dev.longbow.backend.BackendChoice;
import dev.longbow.comm.RankLauncher;
import dev.longbow.comm.RankLaunchers;
import dev.longbow.comm.RankTask;
import java.time.Duration;
import java.util.List;

/** Ranks as threads of this JVM with the in-process communicator: any backend computing in host memory. */
public final class LocalLauncher implements RankLauncher {

    /** For {@link java.util.ServiceLoader}. */
    public LocalLauncher() {
    }

    @Override
    public String name() {
        return RankLaunchers.LOCAL;
    }

    @Override
    public String unavailableReason() {
        return null;
    }

    @Override
    public boolean serves(BackendChoice backend) {
        return true;
    }

    @Override
    public <T> List<T> run(int ranks, BackendChoice backend, Duration collectiveTimeout, RankTask<T> task) {
        return LocalRanks.run(ranks, backend, collectiveTimeout, task);
    }
}
