package dev.longbow.parallel;

import java.util.ArrayList;
import java.util.List;

/**
 * The steps of a zigzag ring, shared by Ring, Hybrid's rings and WallFacer's sub-rings. A block is
 * two chunks; under a causal mask the first step (the rank's own block) issues two diagonal calls
 * and one whole, each later step two whole calls (the same FLOPs: every step computes an equal
 * share); without a mask a step is one call of block against block.
 *
 * @param first the first step's kernel calls
 * @param later any later step's kernel calls
 */
record RingSteps(List<AttentionCall> first, List<AttentionCall> later) {

    /** Steps whose query and key blocks both hold {@code block} tokens on {@code heads} query heads. */
    static RingSteps of(ShardBytes shard, long block, int heads, int kvHeads) {
        if (!shard.shape().causal()) {
            List<AttentionCall> whole = List.of(shard.call(block, block, heads, kvHeads, false));
            return new RingSteps(whole, whole);
        }
        AttentionCall whole = shard.call(block / 2, block / 2, heads, kvHeads, false);
        AttentionCall diagonal = shard.call(block / 2, block / 2, heads, kvHeads, true);
        return new RingSteps(List.of(diagonal, diagonal, whole), List.of(whole, whole));
    }

    /**
     * A ring of {@code steps}: the first block is local, each later block's transfer was posted
     * before the previous block's compute and overlaps it.
     */
    List<Step> forward(int steps, Transfer block) {
        if (steps == 1) {
            return List.of(Step.compute(first));
        }
        List<Step> s = new ArrayList<>();
        s.add(Step.overlapped(first, block));
        if (steps > 2) {
            s.add(Step.overlapped(later, block).times(steps - 2));
        }
        s.add(Step.compute(later));
        return s;
    }

    /**
     * A backward ring of {@code steps} whose blocks carry a gradient sum behind them: as
     * {@link #forward}, and each step's sum, sent once the step has computed its block and added
     * the sum that arrived, travels while the next step computes, on the same link as that step's
     * block. The last sum's trip home, which nothing hides, is the caller's: its route is the scheme's.
     */
    List<Step> backward(int steps, Transfer block, Transfer sum) {
        if (steps == 1) {
            return List.of(Step.compute(first));
        }
        List<Step> s = new ArrayList<>();
        s.add(Step.overlapped(first, block));
        if (steps > 2) {
            s.add(Step.overlapped(later, block, sum).times(steps - 2));
        }
        s.add(Step.overlapped(later, sum));
        return s;
    }
}
