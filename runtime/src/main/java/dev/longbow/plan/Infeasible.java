package dev.longbow.plan;

/** A setting that cannot run a workload at all; the message says why, for the plan's table. */
final class Infeasible extends RuntimeException {
    Infeasible(String reason) {
        super(reason, null, false, false);
    }
}
