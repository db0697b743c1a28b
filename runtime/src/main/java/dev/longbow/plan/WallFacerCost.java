package dev.longbow.plan;

/**
 * WallFacer (StarTrail) as Longbow's scheme runs it: teams of C ranks all-gather q, k and v; P/C
 * teams fall into C groups of L = P/C^2, and a member at position pos > 0 first fetches the C-fold
 * K/V of group g + pos (the placing transfer); members of equal position form sub-rings that move
 * C-fold K/V blocks L - 1 steps, each step computing C^2 of Ring's blocks; a team all-to-all of the
 * fp32 partial outputs merges them. Backward re-gathers k, v, q, out, dO and the log-sum-exp, keeps
 * dK/dV in place and moves q, out, dO and the log-sum-exp around the sub-rings (placed the same
 * way); each step computes its block's fp32 dQ fresh, adds the sum that arrived and sends it on,
 * so the sum travels while the next step computes, and the last goes home, which nothing
 * overlaps; team reduce-scatters of dQ, dK, dV finish. Sub-ring volume falls to about 1/C of
 * Ring's, steps by C^2, for C-fold buffers. The arrangement says which of teams and sub-rings sits on NVLink.
 * Transfers are those of a member with pos > 0, the slowest; compute is that of a member whose
 * first block holds the diagonal, the slowest where diagonal calls run at a lower rate.
 */
final class WallFacerCost {
    private WallFacerCost() {
    }

    /** Bytes a rank sends around its sub-ring in forward: P/C^2 - 1 steps of C-fold K/V. */
    static double ringBytesForward(Shard shard, int team) {
        return (shard.ranks() / (team * team) - 1) * team * shard.kvBytes();
    }

    static AttentionCost of(Shard shard, Links links, int team, boolean teamOnNvlink) {
        int p = shard.ranks();
        if (team < 2 || p % (team * team) != 0) {
            throw new Infeasible("team size " + team + ": C^2 must divide the " + p + " ranks");
        }
        RingCost.requireZigzag(shard.seqLen(), p);
        int ring = p / (team * team);
        Seats seats = new Seats(team, ring, teamOnNvlink);
        int[] teamGroup = teamOnNvlink ? Links.strided(0, team, 1) : Links.strided(0, team, ring);
        int[] subRing = teamOnNvlink ? Links.strided(0, ring, team) : Links.strided(0, ring, 1);
        int[] placing = {seats.rank(0, 0, 1), seats.rank(1, 0, 1)};
        int[] home = {seats.rank(0, 0, 1), seats.rank(1, 1 % ring, 1)};
        boolean teamNet = links.spansNodes(teamGroup);
        boolean ringNet = links.spansNodes(subRing);
        double q = shard.qBytes();
        double kv = shard.kvBytes();
        double lse = shard.lseBytes();
        RingCost.Steps steps = RingCost.Steps.of(shard, team * shard.seqLen() / p, shard.model().heads(), shard.model().kvHeads());

        double gatherQkv = links.ringCollective(q, teamGroup) + 2 * links.ringCollective(kv / 2, teamGroup);
        double partials = team * (shard.outputAccumulatorBytes() - lse);
        double merge = links.allToAll(partials, teamGroup) + links.allToAll(team * lse, teamGroup);
        AttentionCost.Phase forward = AttentionCost.Phase.blocking(0, gatherQkv, (team - 1) * (q + kv), teamNet)
                .then(AttentionCost.Phase.blocking(0, links.ringStep(team * kv, placing), team * kv, links.spansNodes(placing)))
                .then(AttentionCost.Phase.ring(ring, steps.firstForward(), steps.forward(), links.ringStep(team * kv, subRing), team * kv, ringNet))
                .then(AttentionCost.Phase.blocking(0, merge, Links.allToAllBytes(partials + team * lse, team), teamNet));

        double bundle = team * (3 * q + lse);   // q, out, dO and the log-sum-exp of the team's rows
        double dq = team * shard.fp32(q);
        double gatherBack = 2 * links.ringCollective(kv / 2, teamGroup) + 3 * links.ringCollective(q, teamGroup)
                + links.ringCollective(lse, teamGroup);
        double reduceGrads = links.ringCollective(shard.fp32(q), teamGroup) + 2 * links.ringCollective(shard.fp32(kv / 2), teamGroup);
        AttentionCost.Phase backward = AttentionCost.Phase.blocking(0, gatherBack, (team - 1) * (kv + 3 * q + lse), teamNet)
                .then(AttentionCost.Phase.blocking(0, links.ringStep(bundle, placing), bundle, links.spansNodes(placing)))
                .then(AttentionCost.Phase.trailingRing(ring, steps.firstBackward(), steps.backward(), links.ringStep(bundle, subRing), bundle,
                        links.ringStep(dq, subRing), dq, ringNet))
                .then(AttentionCost.Phase.blocking(0, links.ringStep(dq, home), dq, links.spansNodes(home)))
                .then(AttentionCost.Phase.blocking(0, reduceGrads, (team - 1) * shard.fp32(q + kv), teamNet));

        // A member with pos > 0 receives L blocks or bundles (the placing one, then L - 1), two slots at most.
        int slots = Math.min(2, ring);
        double forwardBuffers = team * (q + kv) + slots * team * kv + 2 * team * shard.outputAccumulatorBytes()
                + shard.fp32Staging(shard.fp32(q));
        // the team's K/V and fp32 dK/dV, its own bundle and the travelling ones, the rotating fp32 dQ slots, the reduced gradients
        double backwardBuffers = team * (kv + shard.fp32(kv)) + (1 + slots) * bundle + (ring > 1 ? 3 : 2) * dq + shard.fp32(q + kv);
        return new AttentionCost(forward, backward, forwardBuffers, backwardBuffers, 0, shard.tokens());
    }

    /**
     * Global ranks of WallFacer's seats (group g of C, index i of the L teams in it, position in the
     * team): teams of adjacent ranks, or sub-rings of adjacent ranks.
     */
    private record Seats(int team, int ring, boolean teamsAdjacent) {
        int rank(int group, int index, int pos) {
            return teamsAdjacent ? (group * ring + index) * team + pos : (group * team + pos) * ring + index;
        }
    }
}
