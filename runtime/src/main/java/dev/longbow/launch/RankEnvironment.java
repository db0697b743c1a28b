package dev.longbow.launch;

import java.util.Map;
import java.util.stream.Stream;

/**
 * Where this JVM sits in a job. A job is {@code processCount} JVMs (usually one per node), each
 * driving {@code devicesPerProcess} devices with a thread per device; device {@code d} of process
 * {@code p} is global rank {@code p * devicesPerProcess + d}. Process 0 hosts the rendezvous at
 * {@code masterHost:masterPort}.
 *
 * @param localProcessRank which JVM of its node this is: device ordinals start at
 *                         {@code localProcessRank * devicesPerProcess}
 * @param source           which variables it was read from, for messages
 */
public record RankEnvironment(int processRank, int processCount, int localProcessRank, int devicesPerProcess,
                              String masterHost, int masterPort, String source) {

    /** How many devices one JVM drives; defaults to what the caller detected. */
    public static final String DEVICES_PER_PROCESS = "LONGBOW_DEVICES_PER_PROCESS";

    /** Slurm gives no port: jobs derive one from their id so that concurrent jobs on one master differ. */
    static final int SLURM_PORT_BASE = 20000;

    public RankEnvironment {
        require(processCount >= 1, "the process count " + processCount + " must be at least 1 (" + source + ")");
        require(processRank >= 0 && processRank < processCount,
                "process rank " + processRank + " out of range [0, " + processCount + ") (" + source + ")");
        require(localProcessRank >= 0, "local rank " + localProcessRank + " must not be negative (" + source + ")");
        require(devicesPerProcess >= 1, "devices per process " + devicesPerProcess + " must be at least 1 (" + source + ")");
        require(masterPort >= 1 && masterPort <= 65535, "master port " + masterPort + " out of range [1, 65535] (" + source + ")");
        require(masterHost != null && !masterHost.isBlank(), "no master host (" + source + ")");
    }

    /**
     * Reads the variables cluster users already set: torchrun's {@code RANK}, {@code WORLD_SIZE},
     * {@code LOCAL_RANK}, {@code MASTER_ADDR}, {@code MASTER_PORT} (these win when present), else
     * Slurm's {@code SLURM_PROCID}, {@code SLURM_NTASKS}, {@code SLURM_LOCALID} with the master on
     * the first host of {@code SLURM_JOB_NODELIST}; with neither, a single process.
     *
     * @param detectedDevices devices per process when {@value #DEVICES_PER_PROCESS} is unset
     */
    public static RankEnvironment from(Map<String, String> env, int detectedDevices) {
        int devices = env.containsKey(DEVICES_PER_PROCESS) ? integer(env, DEVICES_PER_PROCESS) : detectedDevices;
        if (env.containsKey("RANK") || env.containsKey("WORLD_SIZE")) {
            String source = "RANK/WORLD_SIZE variables";
            return new RankEnvironment(integer(env, "RANK"), integer(env, "WORLD_SIZE"),
                    env.containsKey("LOCAL_RANK") ? integer(env, "LOCAL_RANK") : 0, devices,
                    required(env, "MASTER_ADDR", source), integer(env, "MASTER_PORT"), source);
        }
        if (env.containsKey("SLURM_PROCID")) {
            String source = "Slurm variables";
            String nodeList = env.getOrDefault("SLURM_JOB_NODELIST", env.get("SLURM_NODELIST"));
            String master = env.containsKey("MASTER_ADDR") ? env.get("MASTER_ADDR")
                    : SlurmNodeList.firstHost(required("SLURM_JOB_NODELIST", source + " without MASTER_ADDR", nodeList));
            int port = env.containsKey("MASTER_PORT") ? integer(env, "MASTER_PORT")
                    : SLURM_PORT_BASE + (int) (Long.parseLong(required(env, "SLURM_JOB_ID", source + " without MASTER_PORT")) % 10000);
            return new RankEnvironment(integer(env, "SLURM_PROCID"), integer(env, "SLURM_NTASKS"),
                    env.containsKey("SLURM_LOCALID") ? integer(env, "SLURM_LOCALID") : 0, devices, master, port, source);
        }
        return new RankEnvironment(0, 1, 0, devices, "127.0.0.1", 29500, "a single process (no RANK or SLURM_PROCID)");
    }

    /**
     * How many processes the launch variables of {@code env} say the job has: torchrun's
     * {@code WORLD_SIZE}, else Slurm's {@code SLURM_NTASKS} when {@code SLURM_PROCID} marks a task
     * of {@code srun}, else 1. Unlike {@link #from} it needs nothing else to be set.
     */
    public static int processCount(Map<String, String> env) {
        if (env.containsKey("RANK") || env.containsKey("WORLD_SIZE")) {
            return integer(env, "WORLD_SIZE");
        }
        return env.containsKey("SLURM_PROCID") ? integer(env, "SLURM_NTASKS") : 1;
    }

    /** The launch variables set in {@code env}, as {@code NAME=value} pairs for messages. */
    public static String jobVariables(Map<String, String> env) {
        return String.join(", ", Stream.of("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT",
                        "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID")
                .filter(env::containsKey).map(k -> k + "=" + env.get(k)).toList());
    }

    /** Every rank of the job. */
    public int worldSize() {
        return processCount * devicesPerProcess;
    }

    /** The global rank of this JVM's local device {@code d}. */
    public int globalRank(int localDevice) {
        checkLocal(localDevice);
        return processRank * devicesPerProcess + localDevice;
    }

    /** The device ordinal (as the driver numbers this node's devices) of local device {@code d}. */
    public int deviceOrdinal(int localDevice) {
        checkLocal(localDevice);
        return localProcessRank * devicesPerProcess + localDevice;
    }

    public boolean isMaster() {
        return processRank == 0;
    }

    private void checkLocal(int localDevice) {
        if (localDevice < 0 || localDevice >= devicesPerProcess) {
            throw new IndexOutOfBoundsException("local device " + localDevice + " out of range [0, " + devicesPerProcess + ")");
        }
    }

    private static String required(Map<String, String> env, String name, String source) {
        return required(name, source, env.get(name));
    }

    private static String required(String name, String source, String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(name + " is not set (reading " + source + ")");
        }
        return value;
    }

    private static int integer(Map<String, String> env, String name) {
        String value = required(env, name, "the launch environment");
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + "='" + value + "' is not an integer", e);
        }
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
