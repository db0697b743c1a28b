package dev.longbow.plan;

import dev.longbow.parallel.Scheme;

/**
 * The predicted cost of one training step (forward, recompute, backward of one sequence) with a
 * scheme on every rank of a cluster, per rank; or why it cannot run.
 *
 * @param scheme           the scheme, as the trainer runs it
 * @param offload          activation checkpoints (and FPDT's K/V chunks) kept in host memory
 * @param ranks            the cluster's ranks, which the scheme spans
 * @param infeasible       why it cannot run, or null
 * @param stepSeconds      predicted step time
 * @param exposedSeconds   the part of it spent waiting on transfers that no compute hid
 * @param bytesSent        bytes one rank sends per step (attention schemes and ZeRO-3)
 * @param gpuBytes         peak device memory per GPU
 * @param hostBytesPerNode host memory per node
 * @param modelFlops       the step's model FLOPs per rank (no recompute), for TFLOP/s and MFU
 */
public record Estimate(Scheme scheme, boolean offload, int ranks, String infeasible, double stepSeconds, double exposedSeconds, double bytesSent,
                       double gpuBytes, double hostBytesPerNode, double modelFlops) {

    /** Waiting on transfers for more than this share of the step makes a setting communication-bound. */
    public static final double COMMUNICATION_BOUND = 0.25;

    public static Estimate infeasible(Scheme scheme, boolean offload, int ranks, String reason) {
        return new Estimate(scheme, offload, ranks, reason, Double.POSITIVE_INFINITY, 0, 0, 0, 0, 0);
    }

    /** The scheme's settings in words, and whether checkpoints are offloaded: "size 8, offload". */
    public String setting() {
        return scheme.settings(ranks) + (offload ? ", offload" : "");
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
