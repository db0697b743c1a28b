package dev.longbow.plan;

import dev.longbow.parallel.CallSchedule;

/**
 * The training software a plan is for: what it keeps in memory, what it moves besides the
 * scheme's attention, and which runs it can start. {@link LongbowStack} is {@code longbow train};
 * {@link Zero3Stack} is DeepSpeed with ZeRO-3, as the papers' runs trained, for comparing with them.
 */
public sealed interface Stack permits LongbowStack, Zero3Stack {

    /** The name on the command line: "longbow", "zero3". */
    String name();

    /** What it keeps and moves, in words, for the plan's header. */
    String describe();

    /** Why it cannot run {@code run} of {@code model} on {@code cluster}, or null when it can. */
    String refusal(Run run, ModelShape model, ClusterSpec cluster);

    /** The memory one GPU and each node's host need for {@code run}, whose attention is {@code schedule}. */
    Memory memory(Run run, ModelShape model, CallSchedule schedule, ClusterSpec cluster);

    /**
     * Weight and gradient traffic of one layer in one sequence's forward, recomputation and
     * backward, which runs under the layer's compute on links it shares with the attention.
     */
    PassCost layerTraffic(Run run, ModelShape model, ClusterSpec cluster);

    /** Once per optimizer step: the gradient synchronisation that nothing hides and the optimizer's update. */
    PassCost stepTraffic(Run run, ModelShape model, ClusterSpec cluster);
}
