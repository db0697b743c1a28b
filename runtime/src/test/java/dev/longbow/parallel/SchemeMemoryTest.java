package dev.longbow.parallel;

import dev.longbow.testing.ShardedProblem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.tensor.DType;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Buffer memory per rank and call, as the schemes declare it in their slabs. FPDT keeps one
 * chunk's buffers on the device and the rest of the sequence in host memory; Ulysses holds the
 * whole head-sharded sequence.
 */
class SchemeMemoryTest {
    private static final int RANKS = 2;

    private static List<ShardedProblem.RankResult> run(Scheme config, long seqLen) {
        var p = new ShardedProblem(new AttentionShape(seqLen, 2, 2, 32, DType.F32, true), new Random(seqLen));
        return p.run(config, RANKS);
    }

    private static long device(CallStats s) {
        return s.peakBufferBytes() - s.hostBufferBytes();
    }

    @Test
    void fpdtDeviceMemoryFollowsTheChunkNotTheSequence() {
        int chunk = 16;
        long[] lengths = {64, 128, 256, 512};
        long[] deviceForward = new long[lengths.length];
        long[] deviceBackward = new long[lengths.length];
        long[] host = new long[lengths.length];
        for (int i = 0; i < lengths.length; i++) {
            ShardedProblem.RankResult first = run(new Fpdt(chunk), lengths[i]).getFirst();
            CallStats forward = first.forward();
            CallStats backward = first.backward();
            deviceForward[i] = device(forward);
            deviceBackward[i] = device(backward);
            host[i] = forward.hostBufferBytes();
            System.out.printf("fpdt chunk %d S=%d: device %d B forward, %d B backward; host %d B%n",
                    chunk, lengths[i], deviceForward[i], deviceBackward[i], host[i]);
        }
        for (int i = 1; i < lengths.length; i++) {
            assertEquals(deviceForward[0], deviceForward[i], "forward device bytes at S=" + lengths[i]);
            assertEquals(deviceBackward[0], deviceBackward[i], "backward device bytes at S=" + lengths[i]);
            double hostRatio = (double) host[i] / host[0];
            double lengthRatio = (double) lengths[i] / lengths[0];
            assertTrue(Math.abs(hostRatio / lengthRatio - 1) < 0.05, "host memory grows with S: " + hostRatio + " vs " + lengthRatio);
        }
        CallStats doubled = run(new Fpdt(2 * chunk), lengths[lengths.length - 1]).getFirst().forward();
        double growth = (double) device(doubled) / deviceForward[lengths.length - 1];
        assertTrue(growth > 1.8 && growth < 2.2, "doubling the chunk doubles device memory, got x" + growth);
    }

    @Test
    void ulyssesMemoryFollowsTheSequence() {
        long small = device(run(new Ulysses(), 64).getFirst().forward());
        long large = device(run(new Ulysses(), 512).getFirst().forward());
        double growth = (double) large / small;
        assertTrue(growth > 7 && growth < 9, "8x the sequence, x" + growth + " the memory");
    }

    /**
     * Ring backward holds, per rank (n = S/P rows, Hkv = 2, D = 32, fp32 inputs so no staging):
     * two K/V blocks (the one arriving and the one being passed on; the rank's own block is the
     * caller's), and three fp32 dK/dV blocks, because a block's gradient is computed fresh while
     * the previous step's sum is still being sent and the next one is arriving.
     */
    @Test
    void ringBackwardHoldsTwoKeyValueBlocksAndThreeGradientBlocks() {
        long seqLen = 128;
        long kvBlock = 2 * (seqLen / RANKS) * 2 * 32 * Float.BYTES;
        for (ShardedProblem.RankResult r : run(new Ring(), seqLen)) {
            assertEquals(2 * kvBlock + 3 * kvBlock, r.backward().peakBufferBytes());
        }
    }

    @Test
    void onlyFpdtUsesHostMemory() {
        for (Scheme config : List.of(new Ulysses(), new Ring(),
                new WallFacer(1, WallFacer.Arrangement.TEAMS_ADJACENT), new Hybrid(2))) {
            for (ShardedProblem.RankResult r : run(config, 128)) {
                assertEquals(0, r.forward().hostBufferBytes(), config.name());
                assertEquals(0, r.backward().hostBufferBytes(), config.name());
                assertTrue(r.forward().peakBufferBytes() > 0 && r.backward().peakBufferBytes() > 0, config.name());
            }
        }
    }
}
