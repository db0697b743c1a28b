package dev.longbow.plan;

import java.util.Locale;

/**
 * The memory one GPU of a run needs, by what holds it, and what each node's host keeps.
 *
 * @param states      weights, gradients and optimizer state (replicated or this rank's shard)
 * @param activations what the layers keep for backward and what one layer works in
 * @param attention   the scheme's buffers
 * @param reserved    what training cannot use (driver, NCCL, library workspaces)
 * @param hostPerNode host memory per node: offloaded chunks and checkpoints of its GPUs
 */
public record Memory(double states, double activations, double attention, double reserved, double hostPerNode) {

    /** Device bytes per GPU. */
    public double gpu() {
        return states + activations + attention + reserved;
    }

    /** "71.3 GiB (states 45.0, activations 22.1, attention 1.2, reserved 3.0)". */
    public String describe() {
        return String.format(Locale.ROOT, "%.1f GiB (model states %.1f, activations %.1f, attention buffers %.1f, reserved %.1f)",
                gpu() / ClusterSpec.GIB, states / ClusterSpec.GIB, activations / ClusterSpec.GIB, attention / ClusterSpec.GIB,
                reserved / ClusterSpec.GIB);
    }
}
