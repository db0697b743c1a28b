package dev.longbow.kernels.comm;

import dev.longbow.backend.BackendChoice;
import dev.longbow.comm.CollectiveTimeout;
import dev.longbow.comm.RankLauncher;
import dev.longbow.comm.RankTask;
import dev.longbow.cuda.Cuda;
import dev.longbow.kernels.CudaBackendProvider;
import java.time.Duration;
import java.util.List;

/**
 * The "device" communicator: ranks as threads of this JVM on the "cuda" backend, any number of
 * them per GPU, with {@link DeviceCommunicator} between them. By default every rank runs on GPU 0
 * (a 64-GPU layout debugged on one card); {@link #withDevices} spreads rank r onto
 * {@code gpus.get(r % gpus.size())}. Chosen only by name (never in NCCL's place), from the command
 * line with {@code --communicator device [--gpus 0,1]}.
 *
 * <p>Every collective and transfer fails the group after the collective timeout (by default the
 * environment's {@value CollectiveTimeout#VARIABLE}, else 10 minutes) naming the ranks and the
 * call that did not arrive.
 */
public final class DeviceLauncher implements RankLauncher {
    public static final String NAME = "device";

    private final List<Integer> gpus;

    /** For {@link java.util.ServiceLoader}: every rank on GPU 0. */
    public DeviceLauncher() {
        this(List.of(0));
    }

    private DeviceLauncher(List<Integer> gpus) {
        this.gpus = List.copyOf(gpus);
    }

    @Override
    public String name() {
        return NAME;
    }

    /** The device communicator runs wherever the cuda backend does. */
    @Override
    public String unavailableReason() {
        return new CudaBackendProvider().unavailableReason();
    }

    @Override
    public boolean serves(BackendChoice backend) {
        return BackendChoice.CUDA.equals(backend);
    }

    /** Never picked for "cuda" by default: NCCL is the backend's communicator. */
    @Override
    public boolean onlyByName() {
        return true;
    }

    /** Rank r on GPU {@code ordinals.get(r % ordinals.size())}; checked against the GPUs present when ranks are launched. */
    @Override
    public DeviceLauncher withDevices(List<Integer> ordinals) {
        if (ordinals.isEmpty()) {
            throw new IllegalArgumentException("the device communicator needs at least one GPU to place its ranks on");
        }
        for (int g : ordinals) {
            if (g < 0) {
                throw new IllegalArgumentException("GPU " + g + " in " + ordinals + " must be >= 0");
            }
        }
        return new DeviceLauncher(ordinals);
    }

    /** The GPUs ranks go to, rank r on {@code gpus().get(r % size)}. */
    public List<Integer> gpus() {
        return gpus;
    }

    @Override
    public <T> List<T> run(int ranks, BackendChoice backendName, Duration collectiveTimeout, RankTask<T> task) {
        if (!serves(backendName)) {
            throw new IllegalArgumentException("the device communicator moves the memory of backend '" + BackendChoice.CUDA + "', not '"
                    + backendName + "'");
        }
        if (ranks < 1) {
            throw new IllegalArgumentException("asked for " + ranks + " ranks; at least 1 is needed");
        }
        CollectiveTimeout.require(collectiveTimeout, "the device communicator's collective timeout");
        String reason = unavailableReason();
        if (reason != null) {
            throw new IllegalStateException("communicator '" + NAME + "' cannot run here: " + reason);
        }
        int present = Cuda.deviceCount();
        for (int g : gpus) {
            if (g >= present) {
                throw new IllegalArgumentException("GPU " + g + " of " + gpus + " does not exist: the CUDA driver sees " + present
                        + (present == 1 ? " GPU (0)" : " GPUs (0.." + (present - 1) + ")") + "; CUDA_VISIBLE_DEVICES="
                        + System.getenv("CUDA_VISIBLE_DEVICES"));
            }
        }
        return DeviceRanks.run(ranks, rank -> backendName.open(gpus.get(rank % gpus.size())), collectiveTimeout, task);
    }

    @Override
    public String toString() {
        return "device communicator on GPUs " + gpus;
    }
}
