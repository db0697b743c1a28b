package dev.longbow.plan;

/**
 * WallFacer (StarTrail): teams of C ranks all-gather q, k, v; ranks of equal team position in
 * P/C^2 teams form sub-rings that move C-fold K/V blocks P/C^2 - 1 steps, each step computing C^2
 * of Ring's blocks; a team reduce-scatter merges the fp32 partial outputs. Backward keeps dK/dV
 * and moves q, dO, the log-sum-exp and the fp32 dQ. Point-to-point volume falls to about 1/C of
 * Ring's, steps by C^2, for C-fold buffers. The arrangement says which of the two sits on NVLink.
 */
final class WallFacerCost {
    private WallFacerCost() {
    }

    /** Bytes a rank sends in the forward team collectives: q, k, v gathered, fp32 output and lse merged. */
    static double collectiveBytesForward(Shard shard, int team) {
        return (team - 1) * (shard.qBytes() + shard.kvBytes() + shard.outputAccumulatorBytes());
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
        int[] teamGroup = teamOnNvlink ? Links.strided(0, team, 1) : Links.strided(0, team, ring);
        int[] subRing = teamOnNvlink ? Links.strided(0, ring, team) : Links.strided(0, ring, 1);
        double q = shard.qBytes();
        double kv = shard.kvBytes();
        double grad = Shard.FP32 / (double) shard.bytes();
        double lse = shard.tokens() * shard.model().heads() * Shard.FP32;
        double flops = shard.attentionFlops() / ring;

        double gatherQkv = links.ringCollective(q + kv, teamGroup);
        double mergeOutput = links.ringCollective(shard.outputAccumulatorBytes(), teamGroup);
        AttentionCost.Phase forward = AttentionCost.Phase.blocking(0, gatherQkv + mergeOutput, collectiveBytesForward(shard, team))
                .then(AttentionCost.Phase.ring(ring, shard.forwardSeconds(flops), links.ringStep(team * kv, subRing), team * kv));

        double travelling = team * (2 * q + q * grad + 2 * lse);   // q, dO, fp32 dQ, lse and rowsum(dO*O)
        double gatherDo = links.ringCollective(q + 2 * lse, teamGroup);
        double mergeGrads = links.ringCollective((q + kv) * grad, teamGroup);
        AttentionCost.Phase backward = AttentionCost.Phase.blocking(0, gatherDo + mergeGrads, (team - 1) * (q + 2 * lse + (q + kv) * grad))
                .then(AttentionCost.Phase.ring(ring, shard.backwardSeconds(flops), links.ringStep(travelling, subRing), travelling));

        double buffers = team * (q + kv + shard.outputAccumulatorBytes()) + 2 * team * kv + 2 * travelling + team * kv * grad;
        return new AttentionCost(forward, backward, buffers, 0, shard.tokens());
    }
}
