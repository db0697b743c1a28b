package dev.longbow.parallel;

import java.util.ArrayList;
import java.util.List;

/**
 * {@link WallFacer}'s call as data, in its four phases: teams of C ranks all-gather q, k and v; a
 * member at position pos > 0 fetches the C-fold K/V of group g + pos (the placing transfer);
 * members of equal position form sub-rings that move C-fold K/V blocks L - 1 steps, each step
 * computing C^2 of Ring's blocks; a team all-to-all of the fp32 partial outputs merges them.
 * Backward re-gathers k, v, q, out, dO and the log-sum-exp, keeps dK/dV in place and moves q, out,
 * dO and the log-sum-exp around the sub-rings (placed the same way); each step computes its
 * block's fp32 dQ fresh, adds the sum that arrived and sends it on, the last sum goes home, and
 * team reduce-scatters of dQ, dK, dV finish. The rank described is a member at position 1 whose
 * first block holds the diagonal: it makes the placing transfers and computes the slowest calls.
 */
final class WallFacerSchedule {
    private WallFacerSchedule() {
    }

    /** Bytes a rank sends around its sub-ring in forward: P/C^2 - 1 steps of C-fold K/V. */
    static long ringBytesForward(AttentionShape shape, int ranks, int team) {
        return (ranks / ((long) team * team) - 1) * team * new ShardBytes(shape, ranks).kv();
    }

    static CallSchedule of(AttentionShape shape, int ranks, int team, WallFacer.Arrangement arrangement) {
        ShardBytes s = new ShardBytes(shape, ranks);
        int ring = ranks / (team * team);
        boolean teamsAdjacent = arrangement == WallFacer.Arrangement.TEAMS_ADJACENT;
        int[] teamGroup = teamsAdjacent ? Transfer.strided(0, team, 1) : Transfer.strided(0, team, ring);
        int[] subRing = teamsAdjacent ? Transfer.strided(0, ring, team) : Transfer.strided(0, ring, 1);
        long q = s.q();
        long kv = s.kv();
        long lse = s.lse();
        RingSteps steps = RingSteps.of(s, team * shape.seqLen() / ranks, shape.heads(), shape.kvHeads());

        List<Step> forward = new ArrayList<>();
        forward.add(Step.blocking(Transfer.allGather(q, teamGroup), Transfer.allGather(kv / 2, teamGroup),
                Transfer.allGather(kv / 2, teamGroup)));
        placing(ranks, team, arrangement, team * kv, forward);
        forward.addAll(steps.forward(ring, Transfer.ringStep(team * kv, subRing)));
        long partials = team * (s.outputAccumulator() - lse);
        forward.add(Step.blocking(Transfer.allToAll(partials, teamGroup), Transfer.allToAll(team * lse, teamGroup)));

        long bundle = team * (3 * q + lse);   // q, out, dO and the log-sum-exp of the team's rows
        long dq = team * s.fp32(q);
        List<Step> backward = new ArrayList<>();
        backward.add(Step.blocking(Transfer.allGather(kv / 2, teamGroup), Transfer.allGather(kv / 2, teamGroup),
                Transfer.allGather(q, teamGroup), Transfer.allGather(q, teamGroup), Transfer.allGather(q, teamGroup),
                Transfer.allGather(lse, teamGroup)));
        placing(ranks, team, arrangement, bundle, backward);
        backward.addAll(steps.backward(ring, Transfer.ringStep(bundle, subRing), Transfer.ringStep(dq, subRing)));
        if (team > 1) {
            int[] home = {seat(0, 0, 1, ranks, team, arrangement), seat(1, 1 % ring, 1, ranks, team, arrangement)};
            backward.add(Step.blocking(Transfer.ringStep(dq, home)));
        }
        backward.add(Step.blocking(Transfer.reduceScatter(s.fp32(q), teamGroup), Transfer.reduceScatter(s.fp32(kv / 2), teamGroup),
                Transfer.reduceScatter(s.fp32(kv / 2), teamGroup)));

        // A member with pos > 0 receives L blocks or bundles (the placing one, then L - 1), two slots at most.
        int slots = Math.min(2, ring);
        long forwardBuffers = team * (q + kv) + slots * team * kv + 2 * team * s.outputAccumulator() + s.fp32Staging(s.fp32(q));
        // the team's K/V and fp32 dK/dV, its own bundle and the travelling ones, the rotating fp32 dQ slots, the reduced gradients
        long backwardBuffers = team * (kv + s.fp32(kv)) + (1 + slots) * bundle + (ring > 1 ? 3 : 2) * dq + s.fp32(q + kv);
        return new CallSchedule(forward, backward, forwardBuffers, backwardBuffers, 0, s.tokens());
    }

    /** The placing transfer of {@code bytes}: member 1 of team (0, 0) fetches from group 1's, where teams are on one node or not. */
    private static void placing(int ranks, int team, WallFacer.Arrangement arrangement, long bytes, List<Step> steps) {
        if (team > 1) {
            int[] placing = {seat(0, 0, 1, ranks, team, arrangement), seat(1, 0, 1, ranks, team, arrangement)};
            steps.add(Step.blocking(Transfer.ringStep(bytes, placing)));
        }
    }

    private static int seat(int group, int index, int pos, int ranks, int team, WallFacer.Arrangement arrangement) {
        return new WallFacer.Seat(group, index, pos).rank(ranks, team, arrangement);
    }
}
