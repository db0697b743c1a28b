package dev.longbow.plan;

import dev.longbow.parallel.Fpdt;
import dev.longbow.parallel.Hybrid;
import dev.longbow.parallel.Ring;
import dev.longbow.parallel.Ulysses;
import dev.longbow.parallel.WallFacer;
import dev.longbow.parallel.WallFacer.Arrangement;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class CostModelTest {
    private static final ModelShape LLAMA = ModelShape.preset("llama3-8b");

    @Test
    void presetsHaveThePublishedParameterCounts() {
        assertEquals(8.03e9, LLAMA.params(), 0.01e9);
        assertEquals(70.6e9, ModelShape.preset("llama3-70b").params(), 0.1e9);
        ModelShape gpt = ModelShape.preset("gpt-6.7b");
        assertEquals(12.0 * 32 * 4096 * 4096, gpt.layers() * gpt.layerParams(), 1);   // the textbook 12 L h^2
    }

    @Test
    void ringMovesPMinusOneKvBlocksForwardAndTheirFp32GradientsPTimesBackward() {
        ClusterSpec cluster = ClusterSpec.preset("h100");
        long s = 64 << 10;
        CostModel.AttentionPass pass = new CostModel(LLAMA, s, true, cluster).attentionPass(new Ring());
        double kvBlock = 2.0 * (s / 8) * LLAMA.kvHeads() * LLAMA.headDim() * 2;   // K and V, bf16
        assertEquals(7 * kvBlock, pass.forwardBytes(), 1e-6 * kvBlock);
        // the gradients follow their block all the way round: the 8th send brings them home
        assertEquals(7 * kvBlock + 8 * 2 * kvBlock, pass.backwardBytes(), 1e-6 * kvBlock);
    }

    @Test
    void noStepMovesItsBytesFasterThanTheNetworkCarriesThem() {
        // Every byte a ring rank sends (K/V, gradients, ZeRO-3's gathers and reduce-scatters) goes to
        // its successor; the last rank of each node sends all of it over the network.
        ClusterSpec cluster = ClusterSpec.preset("h100").withNodes(8);
        for (long s = 64 << 10; s <= 512 << 10; s *= 2) {
            Estimate ring = new CostModel(ModelShape.preset("gpt-7b"), s, true, cluster).estimate(new Ring(), false);
            double wire = ring.bytesSent() / cluster.network();
            assertTrue(ring.stepSeconds() >= wire, "S=" + s + ": step " + ring.stepSeconds() + " s but its bytes need " + wire + " s on the network");
        }
    }

    @Test
    void aComputeBoundRingHidesEveryTransferButTheLastGradientSumsTripHome() {
        // one node, 1M tokens: a ring step's compute (milliseconds) dwarfs moving a K/V block over NVLink
        ClusterSpec cluster = ClusterSpec.preset("h100");
        long s = 1 << 20;
        CostModel.AttentionPass pass = new CostModel(LLAMA, s, true, cluster).attentionPass(new Ring());
        double flops = 4.0 * s * s * LLAMA.heads() * LLAMA.headDim() * 0.5 / 8;
        assertEquals(flops / cluster.attentionFlops(), pass.forwardSeconds(), 1e-9);
        // backward: each step's dK/dV sum travels under the next step's compute; the 8th send, home, has nothing to hide behind
        double gradientBlock = 2.0 * (s / 8) * LLAMA.kvHeads() * LLAMA.headDim() * 4;   // dK and dV, fp32
        double lastTrip = cluster.nvlinkLatency() + gradientBlock / cluster.nvlink();
        assertEquals(2.5 * flops / cluster.attentionBackwardFlops() + lastTrip, pass.backwardSeconds(), 1e-9);
    }

    @Test
    void headsNotDivisibleByTheDegreeAreNamedAndHybridTakesOver() {
        ModelShape odd = new ModelShape("odd", 2, 768, 12, 12, 3072, 2, 1000);
        List<Estimate> plan = Planner.rank(odd, 16 << 10, true, ClusterSpec.preset("h100"));
        Estimate ulysses = plan.stream().filter(e -> e.scheme() instanceof Ulysses).findFirst().orElseThrow();
        assertEquals("heads 12 not divisible by Ulysses degree 8", ulysses.infeasible());
        assertTrue(plan.stream().anyMatch(e -> e.feasible() && e.scheme().equals(new Hybrid(4))));
    }

    @Test
    void tooLongASequenceRunsOutOfMemoryUnlessFpdtOffloadsIt() {
        List<Estimate> plan = Planner.rank(LLAMA, 2L << 20, true, ClusterSpec.preset("h100"));
        Estimate ring = plan.stream().filter(e -> e.scheme() instanceof Ring && !e.offload()).findFirst().orElseThrow();
        assertTrue(ring.infeasible().startsWith("out of memory: needs"), ring.infeasible());
        Estimate best = plan.getFirst();
        assertTrue(best.feasible());
        assertInstanceOf(Fpdt.class, best.scheme(), "at 2M tokens on 8 GPUs only FPDT fits; best: " + best.scheme());
    }

    @Test
    void ringAcrossNodesIsCommunicationBoundAtShortShardsAndWallFacerCutsItsWaits() {
        ClusterSpec cluster = ClusterSpec.preset("h100").withNodes(8);
        CostModel costs = new CostModel(ModelShape.preset("gpt-7b"), 64 << 10, true, cluster);
        Estimate ring = costs.estimate(new Ring(), false);
        Estimate teamsOfTwo = costs.estimate(new WallFacer(2, Arrangement.TEAMS_ADJACENT), false);
        Estimate teamsOfFour = costs.estimate(new WallFacer(4, Arrangement.TEAMS_ADJACENT), false);
        assertTrue(ring.communicationBound());
        assertTrue(teamsOfTwo.exposedSeconds() < ring.exposedSeconds(), ring.exposedSeconds() + " vs " + teamsOfTwo.exposedSeconds());
        // a quarter of Ring's point-to-point volume in 3 steps instead of 63
        assertTrue(teamsOfFour.exposedSeconds() < ring.exposedSeconds() / 2, ring.exposedSeconds() + " vs " + teamsOfFour.exposedSeconds());
    }

    @Test
    void theRankingPutsFeasibleSettingsFirstFastestFirst() {
        List<Estimate> plan = Planner.rank(LLAMA, 256 << 10, true, ClusterSpec.preset("h100").withNodes(2));
        for (int i = 1; i < plan.size(); i++) {
            Estimate a = plan.get(i - 1);
            Estimate b = plan.get(i);
            assertFalse(!a.feasible() && b.feasible(), "an infeasible setting ranked above a feasible one");
            if (a.feasible() && b.feasible()) {
                assertTrue(a.stepSeconds() <= b.stepSeconds());
            }
        }
    }
}
