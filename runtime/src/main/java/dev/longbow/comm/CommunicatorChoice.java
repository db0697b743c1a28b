package dev.longbow.comm;

import dev.longbow.backend.BackendChoice;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The communicator a run asks for: the one that serves its backend (NCCL for "cuda", threads for
 * "cpu"), or a launcher by name, which may place several ranks on one device. The command line
 * spells it {@code --communicator NAME [--gpus 0,1]}.
 *
 * @param name    a launcher's name ("local", "nccl", "device"), or {@code null} for the one that serves the backend
 * @param devices device ordinals for the ranks, rank r on {@code devices.get(r % devices.size())};
 *                empty: the launcher's own placement
 */
public record CommunicatorChoice(String name, List<Integer> devices) {
    /** The launcher that serves the backend, with its own placement. */
    public static final CommunicatorChoice DEFAULT = new CommunicatorChoice(null, List.of());
    /** Ranks as threads of this JVM moving host memory: the CPU backend's. */
    public static final CommunicatorChoice LOCAL = new CommunicatorChoice(RankLaunchers.LOCAL, List.of());
    /** One GPU per rank with NCCL between them: the CUDA backend's (in {@code longbow-runtime}, NCCL loaded when used). */
    public static final CommunicatorChoice NCCL = new CommunicatorChoice("nccl", List.of());
    /**
     * Ranks as threads of this JVM sharing GPUs, rank r on GPU {@code r mod n} of {@link #onDevices}
     * (GPU 0 when none are given): the {@code longbow-kernels-ptx} artifact's in-process device communicator.
     */
    public static final CommunicatorChoice DEVICE = new CommunicatorChoice("device", List.of());

    /** Refuses a blank name, a negative ordinal, and a device list without a name. */
    public CommunicatorChoice {
        devices = List.copyOf(devices);
        if (name != null && name.isBlank()) {
            throw new IllegalArgumentException("a communicator name must not be blank");
        }
        for (int d : devices) {
            if (d < 0) {
                throw new IllegalArgumentException("device ordinal " + d + " in " + devices + " must be >= 0");
            }
        }
        if (name == null && !devices.isEmpty()) {
            throw new IllegalArgumentException("a list of devices " + devices + " places several ranks per device, which only"
                    + " a communicator chosen by name does ('device'); the backend's own places rank r on device r");
        }
    }

    /**
     * From the command line: {@code communicator} is a launcher's name or {@code null},
     * {@code gpus} ordinals separated by commas ("0,1") or {@code null}.
     */
    public static CommunicatorChoice fromCommandLine(String communicator, String gpus) {
        List<Integer> devices = new ArrayList<>();
        if (gpus != null) {
            for (String part : gpus.split(",", -1)) {
                try {
                    devices.add(Integer.parseInt(part.trim()));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("--gpus '" + gpus + "': '" + part + "' is not a device ordinal; give"
                            + " ordinals separated by commas, like 0,1", e);
                }
            }
        }
        if (communicator == null && !devices.isEmpty()) {
            throw new IllegalArgumentException("--gpus " + gpus + " needs --communicator device (ranks sharing GPUs); NCCL puts"
                    + " rank r on GPU r");
        }
        return new CommunicatorChoice(communicator, devices);
    }

    /**
     * This communicator with rank r on device {@code devices[r % devices.length]}: several ranks per
     * device, which the {@link #DEVICE} communicator serves.
     *
     * @param devices device ordinals
     * @return the choice with that placement
     */
    public CommunicatorChoice onDevices(int... devices) {
        return new CommunicatorChoice(name, Arrays.stream(devices).boxed().toList());
    }

    /** The launcher for backend {@code backendName}; fails before any rank starts when it cannot serve it here. */
    public RankLauncher launcher(BackendChoice backendName) {
        RankLauncher chosen = name == null ? RankLaunchers.forBackend(backendName) : RankLaunchers.named(name, backendName);
        return devices.isEmpty() ? chosen : chosen.withDevices(devices);
    }

    @Override
    public String toString() {
        return (name == null ? "the backend's communicator" : name) + (devices.isEmpty() ? "" : " on devices " + devices);
    }
}
