package dev.longbow.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Each sample runs a small problem on CPU ranks and agrees with single-device attention. */
class SchemeSampleTest {

    @ParameterizedTest
    @ValueSource(strings = {"ulysses", "ring", "wallfacer", "fpdt", "hybrid"})
    void sampleRunsAndPassesItsCheck(String scheme) {
        String[] args = {"--ranks", "4", "--seq-len", "128", "--heads", "4", "--kv-heads", "2", "--head-dim", "32",
                "--iterations", "1", "--seed", "7"};
        assertTrue(SchemeSample.run(SampleOptions.parse(scheme, args)));
    }

    @Test
    void optionsGetDefaultsThatFitTheRankCount() {
        SampleOptions o = SampleOptions.parse("wallfacer", new String[] {"--ranks", "8", "--seq-len", "1024"});
        assertEquals(2, o.teamSize());
        assertEquals(32, o.chunkSize());
        assertEquals(1, SampleOptions.parse("wallfacer", new String[] {"--ranks", "2"}).teamSize());
    }

    @Test
    void badOptionsSayWhatIsWrong() {
        var unknown = assertThrows(IllegalArgumentException.class, () -> SampleOptions.parse("ring", new String[] {"--rank", "4"}));
        assertTrue(unknown.getMessage().startsWith("unknown option '--rank'"), unknown.getMessage());
        var number = assertThrows(IllegalArgumentException.class, () -> SampleOptions.parse("ring", new String[] {"--ranks", "four"}));
        assertTrue(number.getMessage().contains("--ranks needs an integer, got 'four'"), number.getMessage());
        var dtype = assertThrows(IllegalArgumentException.class, () -> SampleOptions.parse("ring", new String[] {"--dtype", "f64"}));
        assertTrue(dtype.getMessage().contains("--dtype 'f64' is not one of f32|bf16"), dtype.getMessage());
    }

    @Test
    void anUnknownBackendStopsWithTheAvailableOnes() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> SchemeSample.run(SampleOptions.parse("ring", new String[] {"--backend", "metal", "--seq-len", "64"})));
        assertTrue(e.getMessage().contains("unknown backend 'metal'"), e.getMessage());
    }
}
