package dev.longbow.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The cost model against published training steps: fitted points apart from held-out ones, and the presets at the fitted rates. */
class CalibrationTest {

    @Test
    void eachRateIsFittedToExactlyOneStepThatTheHeldOutStepsDoNotRepeat() {
        EnumSet<MatmulRate> fitted = EnumSet.noneOf(MatmulRate.class);
        Calibration.FITTED.forEach(s -> assertTrue(fitted.add(s.rate()), s.rate() + " fitted twice"));
        assertEquals(EnumSet.allOf(MatmulRate.class), fitted);
        for (PublishedStep held : Calibration.HELD_OUT) {
            assertTrue(Calibration.FITTED.stream().noneMatch(f -> f.setting().equals(held.setting()) && f.source().equals(held.source())),
                    held.setting() + " is both fitted and held out");
        }
    }

    @Test
    void theFittedRatesReproduceTheirOwnSteps() {
        for (Calibration.Point p : Calibration.points().stream().filter(Calibration.Point::fitted).toList()) {
            assertEquals(0, p.error(), 1e-3, p.step().setting());
        }
    }

    @Test
    void atLeastThreeQuartersOfTheHeldOutStepsArePredictedWithinAQuarter() {
        List<Calibration.Point> held = Calibration.points().stream().filter(p -> !p.fitted()).toList();
        held.forEach(p -> System.out.printf("%s: published %.0f, model %.0f (%+.1f%%)%n", p.step().setting(),
                p.step().tokensPerSecondPerGpu(), p.predicted(), 100 * p.error()));
        long within = held.stream().filter(Calibration.Point::within).count();
        assertTrue(4 * within >= 3 * held.size(), within + " of " + held.size() + " held-out steps within 25%");
    }

    @Test
    void aFasterMatmulPredictsMoreTokensPerSecond() {
        PublishedStep step = Calibration.HELD_OUT.getFirst();
        assertTrue(Calibration.predict(step, 300e12) > Calibration.predict(step, 150e12));
    }

    @Test
    void thePresetsComputeAtTheFittedBf16Rates() {
        Map<MatmulRate, Double> rates = Calibration.fit();
        assertEquals(rates.get(MatmulRate.H100_BF16), ClusterSpec.preset("h100").matmulFlops(), 0.01 * rates.get(MatmulRate.H100_BF16));
        assertEquals(rates.get(MatmulRate.H100_BF16), ClusterSpec.preset("h200").matmulFlops(), 0.01 * rates.get(MatmulRate.H100_BF16));
        assertEquals(rates.get(MatmulRate.A100_BF16), ClusterSpec.preset("a100").matmulFlops(), 0.01 * rates.get(MatmulRate.A100_BF16));
    }

    @Test
    void thePlannersTieBandIsTheMedianHeldOutErrorRoundedUp() {
        double median = Calibration.medianHeldOutError();
        assertTrue(Plan.TIE_BAND >= median && Plan.TIE_BAND < median + 0.01, "tie band " + Plan.TIE_BAND + ", median error " + median);
    }
}
