package dev.longbow.plan;

import dev.longbow.model.Precision;
import dev.longbow.parallel.Fpdt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The cost model against the papers' published numbers, each within the tolerance its row states. */
class PaperComparisonsTest {

    private static void assertAllWithin(List<PaperComparisons> rows) {
        rows.forEach(r -> System.out.println(r.paper() + " | " + r.setting() + " | published " + r.published() + " | model " + r.predicted()));
        rows.forEach(r -> assertTrue(r.within(), r.setting() + ": published " + r.published() + ", model " + r.predicted() + " (tolerance " + r.tolerance() + ")"));
    }

    @Test
    void ulyssesSendsFourNhOverPPerLayerWhateverTheScaleWhenNAndPGrowTogether() {
        List<PaperComparisons> rows = PaperComparisons.ulysses();
        assertAllWithin(rows);
        // N/P is fixed across the rows, so the per-rank volume may grow only by the (P-1)/P factor: (63/64) / (7/8) = 1 + 1/8
        double first = Double.parseDouble(rows.getFirst().predicted());
        double last = Double.parseDouble(rows.getLast().predicted());
        assertTrue(last / first <= (1 + 1.0 / 8) * (1 + 1e-9), "Ulysses' per-rank volume grew from " + first + " to " + last);
    }

    @Test
    void wallFacerPointToPointVolumeMatchesTheCommunicationAnalysis() {
        assertAllWithin(PaperComparisons.wallFacer());
    }

    @Test
    void fpdtLongestSequencesMatchFigureFourWithinOneGridStep() {
        List<PaperComparisons> rows = PaperComparisons.fpdt();
        assertAllWithin(rows);
        long exact = rows.stream().filter(r -> r.published().equals(r.predicted())).count();
        assertTrue(exact >= 4, "only " + exact + " of " + rows.size() + " lengths match exactly");
    }

    @Test
    void theFittedFootprintReproducesItsOwnMeasurement() {
        // table 5 of the FPDT paper: Llama-3 8B, 8 GPUs, 4M tokens, 68.0 GiB of HBM
        Run run = new Run(new Fpdt((4L << 20) / (8 * 64)), 8, 1, 4L << 20, 1, true, Precision.BF16_MIXED, true);
        Estimate e = new CostModel(ModelShape.preset("llama3-8b"), true, PaperComparisons.fpdtCluster(8),
                new Zero3Stack(PaperComparisons.FPDT_DEEPSPEED)).estimate(run);
        assertEquals(68.0, e.memory().gpu() / ClusterSpec.GIB, 0.5);
    }
}
