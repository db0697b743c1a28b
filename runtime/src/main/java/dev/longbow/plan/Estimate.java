package dev.longbow.plan;

/**
 * The predicted cost of one training step (forward, recompute, backward of one sequence) under a
 * setting, per rank; or why the setting cannot run.
 *
 * @param infeasible       why it cannot run, or null
 * @param stepSeconds      predicted step time
 * @param exposedSeconds   the part of it spent waiting on transfers that no compute hid
 * @param bytesSent        bytes one rank sends per step (attention schemes and ZeRO-3)
 * @param gpuBytes         peak device memory per GPU
 * @param hostBytesPerNode host memory per node
 * @param modelFlops       the step's model FLOPs per rank (no recompute), for TFLOP/s and MFU
 */
public record Estimate(Setting setting, String infeasible, double stepSeconds, double exposedSeconds, double bytesSent,
                       double gpuBytes, double hostBytesPerNode, double modelFlops) {

    /** Waiting on transfers for more than this share of the step makes a setting communication-bound. */
    public static final double COMMUNICATION_BOUND = 0.25;

    public static Estimate infeasible(Setting setting, String reason) {
        return new Estimate(setting, reason, Double.POSITIVE_INFINITY, 0, 0, 0, 0, 0);
    }

    public boolean feasible() {
        return infeasible == null;
    }

    public double tflopsPerGpu() {
        return modelFlops / stepSeconds / 1e12;
    }

    public boolean communicationBound() {
        return feasible() && exposedSeconds > COMMUNICATION_BOUND * stepSeconds;
    }
}
