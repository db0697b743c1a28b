package dev.longbow.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.comm.RankLauncher;
import dev.longbow.comm.RankTask;
import dev.longbow.comm.local.LocalLauncher;
import dev.longbow.comm.local.LocalRanks;
import dev.longbow.tensor.DType;
import java.time.Duration;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Each sample runs a small problem on CPU ranks and agrees with single-device attention. */
class SchemeSampleTest {

    @ParameterizedTest
    @ValueSource(strings = {"ulysses", "ring", "wallfacer", "fpdt", "hybrid"})
    void sampleRunsAndPassesItsCheck(String scheme) {
        String[] args = {"--ranks", "4", "--seq-len", "128", "--heads", "4", "--kv-heads", "2", "--head-dim", "32",
                "--iterations", "1", "--seed", "7"};
        assertTrue(SchemeSample.run(SampleOptions.parse(scheme, args)));
    }

    /**
     * The in-process ranks, of which only {@code [first, first + count)} come back, as
     * NcclLauncher returns one process's ranks in a job of several; {@code tamper} stands in for
     * a fault in those ranks.
     */
    private static RankLauncher oneProcessOf(int first, int count, UnaryOperator<SchemeSample.RankRun> tamper) {
        RankLauncher all = new LocalLauncher();
        return new RankLauncher() {
            @Override
            public String name() {
                return "one process of " + all.name();
            }

            @Override
            public String unavailableReason() {
                return null;
            }

            @Override
            public boolean serves(String backendName) {
                return true;
            }

            @Override
            @SuppressWarnings("unchecked")
            public <T> List<T> run(int ranks, String backendName, Duration collectiveTimeout, RankTask<T> task) {
                return all.run(ranks, backendName, collectiveTimeout, task).subList(first, first + count).stream()
                        .map(r -> (T) tamper.apply((SchemeSample.RankRun) r)).toList();
            }
        };
    }

    private static final String[] SMALL = {"--ranks", "4", "--seq-len", "128", "--heads", "4", "--kv-heads", "2",
            "--head-dim", "32", "--iterations", "0", "--seed", "11"};

    @ParameterizedTest
    @ValueSource(strings = {"ring", "fpdt"})
    void aProcessOfAJobChecksTheRowsItsOwnRanksHold(String scheme) {
        assertTrue(SchemeSample.run(SampleOptions.parse(scheme, SMALL), oneProcessOf(2, 2, UnaryOperator.identity())));
    }

    /** Rows held by ranks 2 and 3, checked as if they were ranks 0 and 1's: the check must see it. */
    @Test
    void aProcessWhoseRowsAreNotItsRanksFailsTheCheck() {
        RankLauncher mislabelled = oneProcessOf(2, 2, r -> new SchemeSample.RankRun(r.rank() - 2, r.seed(), r.forwardNanos(),
                r.backwardNanos(), r.forward(), r.backward(), r.outputs()));
        assertFalse(SchemeSample.run(SampleOptions.parse("ring", SMALL), mislabelled));
    }

    /** Each rank offers its own seed (as each process of a job draws one from its clock); all get rank 0's, every bit of it. */
    @Test
    void ranksAgreeOnRankZerosSeed() {
        long rankZeros = 0x8000_0001_FFFF_FFFEL;
        List<Long> agreed = LocalRanks.run(4, "cpu", (backend, comm) ->
                SchemeSample.agreedSeed(backend, comm, comm.rank() == 0 ? rankZeros : comm.rank()));
        assertEquals(List.of(rankZeros, rankZeros, rankZeros, rankZeros), agreed);
    }

    @Test
    void optionsGetDefaultsThatFitTheRankCount() {
        SampleOptions o = SampleOptions.parse("wallfacer", new String[] {"--ranks", "8", "--seq-len", "1024"});
        assertEquals(2, o.teamSize());
        assertEquals(32, o.chunkSize());
        assertEquals(1, SampleOptions.parse("wallfacer", new String[] {"--ranks", "2"}).teamSize());
    }

    /** cuda's flash kernels take bf16, not f32: `sample --backend cuda` must work without --dtype. */
    @Test
    void theDefaultDtypeIsOneTheBackendComputesIn() {
        assertEquals(DType.F32, SampleOptions.parse("ring", new String[] {}).dtype());
        assertEquals(DType.BF16, SampleOptions.parse("ring", new String[] {"--backend", "cuda"}).dtype());
        assertEquals(DType.F32, SampleOptions.parse("ring", new String[] {"--backend", "cuda", "--dtype", "f32"}).dtype());
    }

    @Test
    void badOptionsSayWhatIsWrong() {
        var unknown = assertThrows(IllegalArgumentException.class, () -> SampleOptions.parse("ring", new String[] {"--rank", "4"}));
        assertTrue(unknown.getMessage().startsWith("unknown option '--rank'"), unknown.getMessage());
        var number = assertThrows(IllegalArgumentException.class, () -> SampleOptions.parse("ring", new String[] {"--ranks", "four"}));
        assertTrue(number.getMessage().contains("--ranks needs an integer from -2147483648 to 2147483647, got 'four'"), number.getMessage());
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
