package dev.longbow.comm.nccl;

import dev.longbow.backend.BackendChoice;
import dev.longbow.comm.RankLauncher;
import dev.longbow.comm.RankTask;
import dev.longbow.cuda.Cuda;
import dev.longbow.launch.Rendezvous;
import dev.longbow.nccl.Nccl;
import dev.longbow.nccl.NcclUniqueId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Ranks on GPUs with NCCL between them, for the "cuda" backend. One JVM drives all the GPUs it
 * runs (a thread per GPU). Launched alone, it runs the ranks asked for on GPUs 0..n-1 of this
 * node. In a job of several processes (torchrun's or Slurm's variables, see
 * {@link dev.longbow.launch.RankEnvironment}) every process asks for the whole job's ranks, runs
 * its own, and gets the NCCL unique id from process 0 over the {@link Rendezvous}, authenticated
 * by {@code LONGBOW_RENDEZVOUS_TOKEN}.
 */
public final class NcclLauncher implements RankLauncher {
    /** Seconds process 0 waits for the others at the rendezvous; 300 when unset. */
    public static final String RENDEZVOUS_TIMEOUT = "LONGBOW_RENDEZVOUS_TIMEOUT";

    private final Map<String, String> env;

    /** For {@link java.util.ServiceLoader}: reads this process's environment. */
    public NcclLauncher() {
        this(System.getenv());
    }

    NcclLauncher(Map<String, String> env) {
        this.env = Map.copyOf(env);
    }

    @Override
    public String name() {
        return "nccl";
    }

    /** Names every missing piece: the CUDA driver (or a GPU it sees), and the NCCL library. */
    @Override
    public String unavailableReason() {
        List<String> missing = new ArrayList<>();
        try {
            String cuda = Cuda.unavailableReason();
            if (cuda != null) {
                missing.add(cuda);
            }
        } catch (RuntimeException | LinkageError e) {
            missing.add("the CUDA driver cannot be used: " + e);
        }
        try {
            Nccl.load();
        } catch (RuntimeException | LinkageError e) {
            missing.add(e.getMessage());
        }
        return missing.isEmpty() ? null : String.join("; ", missing);
    }

    @Override
    public boolean serves(BackendChoice backend) {
        return BackendChoice.CUDA.equals(backend);
    }

    @Override
    public boolean spansProcesses() {
        return true;
    }

    /**
     * In a job of several processes {@code ranks} is the whole job's and the list holds this
     * process's results only, in rank order.
     */
    @Override
    public <T> List<T> run(int ranks, BackendChoice backendName, Duration collectiveTimeout, RankTask<T> task) {
        if (!serves(backendName)) {
            throw new IllegalArgumentException("the NCCL launcher moves the memory of backend '" + BackendChoice.CUDA + "', not '"
                    + backendName + "'");
        }
        if (ranks < 1) {
            throw new IllegalArgumentException("asked for " + ranks + " ranks; at least 1 is needed");
        }
        String reason = unavailableReason();
        if (reason != null) {
            throw new IllegalStateException("communicator 'nccl' cannot run here: " + reason);
        }
        NodeRanks node = NodeRanks.of(ranks, env, Cuda.deviceCount());
        byte[] id = Rendezvous.exchange(node.job(), env, () -> NcclUniqueId.create().toBytes(), rendezvousTimeout(env));
        return NcclRanks.run(node, NcclUniqueId.fromBytes(id), ordinal -> backendName.open(ordinal), task,
                collectiveTimeout);
    }

    static Duration rendezvousTimeout(Map<String, String> env) {
        String seconds = env.get(RENDEZVOUS_TIMEOUT);
        if (seconds == null || seconds.isBlank()) {
            return Duration.ofSeconds(300);
        }
        try {
            long s = Long.parseLong(seconds.trim());
            if (s < 1) {
                throw new IllegalArgumentException(RENDEZVOUS_TIMEOUT + "=" + seconds + " must be at least 1 second");
            }
            return Duration.ofSeconds(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(RENDEZVOUS_TIMEOUT + "='" + seconds + "' is not a whole number of seconds", e);
        }
    }
}
