package dev.longbow.plan;

import dev.longbow.model.Precision;
import dev.longbow.parallel.AttentionShape;
import dev.longbow.parallel.Fpdt;
import dev.longbow.parallel.Hybrid;
import dev.longbow.parallel.Ring;
import dev.longbow.parallel.Scheme;
import dev.longbow.parallel.Ulysses;
import dev.longbow.parallel.WallFacer;
import dev.longbow.parallel.WallFacer.Arrangement;
import dev.longbow.tensor.DType;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class CostModelTest {
    private static final ModelShape LLAMA = ModelShape.preset("llama3-8b");

    private static AttentionShape bf16(ModelShape m, long s) {
        return new AttentionShape(s, m.heads(), m.kvHeads(), m.headDim(), DType.BF16, true);
    }

    /** One sequence over every GPU, recomputed, as the papers' ZeRO-3 runs train. */
    private static Estimate zero3(ModelShape m, long s, ClusterSpec cluster, Scheme scheme) {
        return new CostModel(m, true, cluster, Zero3Stack.deepSpeed()).estimate(PaperComparisons.zero3(scheme, cluster.ranks(), s));
    }

    /** One group over every GPU, recomputed, checkpoints on the GPU or in host memory. */
    private static Search oneGroup(long s) {
        return new Search(s, true, Precision.BF16_MIXED, 0, List.of(1), List.of(true), List.of(false, true));
    }

    @Test
    void presetsHaveThePublishedParameterCounts() {
        assertEquals(8.03e9, LLAMA.params(), 0.01e9);
        assertEquals(70.6e9, ModelShape.preset("llama3-70b").params(), 0.1e9);
        assertEquals(6.74e9, ModelShape.preset("llama2-7b").params(), 0.01e9);
        ModelShape gpt = ModelShape.preset("gpt-6.7b");
        assertEquals(12.0 * 32 * 4096 * 4096, gpt.layers() * gpt.layerParams(), 1);   // the textbook 12 L h^2
    }

    @Test
    void ringMovesPMinusOneKvBlocksForwardAndTheirFp32GradientsPTimesBackward() {
        long s = 64 << 10;
        SchedulePricer.Priced pass = new SchedulePricer(ClusterSpec.preset("h100")).price(new Ring().schedule(8, bf16(LLAMA, s)));
        double kvBlock = 2.0 * (s / 8) * LLAMA.kvHeads() * LLAMA.headDim() * 2;   // K and V, bf16
        assertEquals(7 * kvBlock, pass.forward().bytesSent(), 1e-6 * kvBlock);
        // the gradients follow their block all the way round: the 8th send brings them home
        assertEquals(7 * kvBlock + 8 * 2 * kvBlock, pass.backward().bytesSent(), 1e-6 * kvBlock);
    }

    @Test
    void noStepMovesItsBytesFasterThanTheNetworkCarriesThem() {
        // Every byte a ring rank sends (K/V, gradients, ZeRO-3's gathers and reduce-scatters) goes to
        // its successor; the last rank of each node sends all of it over the network.
        ClusterSpec cluster = ClusterSpec.preset("h100").withNodes(8);
        for (long s = 64 << 10; s <= 512 << 10; s *= 2) {
            Estimate ring = zero3(ModelShape.preset("gpt-7b"), s, cluster, new Ring());
            double wire = ring.bytes(Link.NETWORK) / cluster.network();
            assertTrue(ring.stepSeconds() >= wire, "S=" + s + ": step " + ring.stepSeconds() + " s but its bytes need " + wire + " s on the network");
        }
    }

    @Test
    void aComputeBoundRingHidesEveryTransferButTheLastGradientSumsTripHome() {
        // one node, 1M tokens: a ring step's compute (milliseconds) dwarfs moving a K/V block over NVLink
        ClusterSpec cluster = ClusterSpec.preset("h100").withCompute(600e12, AttentionRates.constant(400e12, 350e12));
        long s = 1 << 20;
        SchedulePricer.Priced pass = new SchedulePricer(cluster).price(new Ring().schedule(8, bf16(LLAMA, s)));
        double flops = 4.0 * s * s * LLAMA.heads() * LLAMA.headDim() * 0.5 / 8;
        assertEquals(flops / 400e12, pass.forward().seconds(), 1e-9);
        // backward: each step's dK/dV sum travels under the next step's compute; the 8th send, home, has nothing to hide behind
        double gradientBlock = 2.0 * (s / 8) * LLAMA.kvHeads() * LLAMA.headDim() * 4;   // dK and dV, fp32
        double lastTrip = cluster.nvlinkLatency() + gradientBlock / cluster.nvlink();
        assertEquals(2.5 * flops / 350e12 + lastTrip, pass.backward().seconds(), 1e-9);
        assertEquals(lastTrip, pass.backward().exposedSeconds(), 1e-9);
    }

    @Test
    void headsNotDivisibleByTheDegreeAreNamedAndHybridTakesOver() {
        ModelShape odd = new ModelShape("odd", 2, 768, 12, 12, 3072, 2, 1000);
        Plan plan = Planner.plan(new CostModel(odd, true, ClusterSpec.preset("h100"), Zero3Stack.deepSpeed()), oneGroup(16 << 10));
        Estimate ulysses = plan.ranked().stream().filter(e -> e.run().scheme() instanceof Ulysses).findFirst().orElseThrow();
        assertEquals("heads 12 not divisible by ranks 8 (Ulysses needs Hq % P == 0; use hybrid or wallfacer)", ulysses.infeasible());
        assertTrue(plan.ranked().stream().anyMatch(e -> e.feasible() && e.run().scheme().equals(new Hybrid(4))));
    }

    @Test
    void tooLongASequenceRunsOutOfMemoryUnlessFpdtOffloadsIt() {
        Plan plan = Planner.plan(new CostModel(LLAMA, true, ClusterSpec.preset("h100"), Zero3Stack.deepSpeed()), oneGroup(2L << 20));
        Estimate ring = plan.ranked().stream().filter(e -> e.run().scheme() instanceof Ring).findFirst().orElseThrow();
        assertTrue(ring.infeasible().startsWith("out of memory: needs"), ring.infeasible());
        Estimate best = plan.answer();
        assertInstanceOf(Fpdt.class, best.run().scheme(), "at 2M tokens on 8 GPUs only FPDT fits; best: " + best.run().scheme());
    }

    @Test
    void ringAcrossNodesIsCommunicationBoundAtShortShardsAndWallFacerCutsItsWaits() {
        ClusterSpec cluster = ClusterSpec.preset("h100").withNodes(8);
        ModelShape gpt = ModelShape.preset("gpt-7b");
        Estimate ring = zero3(gpt, 64 << 10, cluster, new Ring());
        Estimate teamsOfTwo = zero3(gpt, 64 << 10, cluster, new WallFacer(2, Arrangement.TEAMS_ADJACENT));
        Estimate teamsOfFour = zero3(gpt, 64 << 10, cluster, new WallFacer(4, Arrangement.TEAMS_ADJACENT));
        assertTrue(ring.communicationBound());
        assertTrue(teamsOfTwo.exposedSeconds() < ring.exposedSeconds(), ring.exposedSeconds() + " vs " + teamsOfTwo.exposedSeconds());
        // a quarter of Ring's point-to-point volume in 3 steps instead of 63
        assertTrue(teamsOfFour.exposedSeconds() < ring.exposedSeconds() / 2, ring.exposedSeconds() + " vs " + teamsOfFour.exposedSeconds());
    }

    @Test
    void theTieComesFirstFewestNetworkBytesFirstThenTheRestFastestFirst() {
        Plan plan = Planner.plan(new CostModel(LLAMA, true, ClusterSpec.preset("h100").withNodes(2), Zero3Stack.deepSpeed()),
                Search.everything(256 << 10, true, Precision.BF16_MIXED, 16));
        double fastest = plan.fastest().stepSeconds();
        for (int i = 0; i < plan.ranked().size(); i++) {
            Estimate e = plan.ranked().get(i);
            if (i < plan.tied()) {
                assertTrue(e.stepSeconds() <= fastest * (1 + plan.tieBand()));
                if (i > 0) {
                    assertTrue(plan.ranked().get(i - 1).bytes(Link.NETWORK) <= e.bytes(Link.NETWORK));
                }
            } else if (i > 0) {
                Estimate a = plan.ranked().get(i - 1);
                assertFalse(!a.feasible() && e.feasible(), "an infeasible setting ranked above a feasible one");
                assertTrue(e.stepSeconds() > fastest * (1 + plan.tieBand()) || !e.feasible());
                if (i > plan.tied() && a.feasible() && e.feasible()) {
                    assertTrue(a.stepSeconds() <= e.stepSeconds());
                }
            }
        }
    }
}
