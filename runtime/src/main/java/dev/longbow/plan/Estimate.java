package dev.longbow.plan;

import java.util.Map;

/**
 * The predicted cost of one training step of a run, per GPU; or why it cannot run.
 *
 * @param run            the run, as the trainer takes it
 * @param infeasible     why it cannot run, or null
 * @param stepSeconds    predicted step time: every group's sequences, the gradient synchronisation and the update
 * @param exposedSeconds the part of it spent waiting on transfers that no compute hid
 * @param bytes          bytes one GPU moves per step, by link (sent to other GPUs; copied to and from its host)
 * @param memory         what one GPU and each node's host need, or null when the run was refused before sizing it
 * @param modelFlops     the step's FLOPs over all GPUs, counted as {@link FlopCount#MODEL}
 * @param peakFlops      one GPU's data-sheet peak, for MFU
 */
public record Estimate(Run run, String infeasible, double stepSeconds, double exposedSeconds, Map<Link, Double> bytes, Memory memory,
                       double modelFlops, double peakFlops) {

    /** Waiting on transfers for more than this share of the step makes a setting communication-bound. */
    public static final double COMMUNICATION_BOUND = 0.25;

    public Estimate {
        bytes = Map.copyOf(bytes);
    }

    static Estimate infeasible(Run run, String reason, Memory memory) {
        return new Estimate(run, reason, Double.POSITIVE_INFINITY, 0, Map.of(), memory, 0, 0);
    }

    public boolean feasible() {
        return infeasible == null;
    }

    /** Tokens the whole cluster trains per second. */
    public double tokensPerSecond() {
        return (double) run.seqLen() * run.batch() / stepSeconds;
    }

    /** Model FLOPs utilisation: {@link FlopCount#MODEL} over the GPUs' peak. */
    public double mfu() {
        return modelFlops / run.ranks() / stepSeconds / peakFlops;
    }

    public double bytes(Link link) {
        return bytes.getOrDefault(link, 0.0);
    }

    public boolean communicationBound() {
        return feasible() && exposedSeconds > COMMUNICATION_BOUND * stepSeconds;
    }
}
