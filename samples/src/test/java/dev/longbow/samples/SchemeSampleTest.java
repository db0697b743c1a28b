package dev.longbow.samples;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.comm.RankLauncher;
import dev.longbow.comm.RankTask;
import dev.longbow.comm.local.LocalLauncher;
import dev.longbow.comm.local.LocalRanks;
import dev.longbow.parallel.Fpdt;
import dev.longbow.parallel.Hybrid;
import dev.longbow.parallel.WallFacer;
import dev.longbow.parallel.WallFacer.Arrangement;
import dev.longbow.tensor.DType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/** Each sample runs a small problem on CPU ranks and agrees with single-device attention. */
class SchemeSampleTest {

    /** The options of {@code longbow sample SCHEME ARGS...}, checked; a mistake throws {@link IllegalArgumentException} naming it. */
    private static SampleOptions parse(String scheme, String... args) {
        List<String> all = new ArrayList<>(List.of(scheme));
        all.addAll(List.of(args));
        CommandLine cli = SampleCommand.commandLine();
        try {
            cli.parseArgs(all.toArray(String[]::new));
        } catch (CommandLine.ParameterException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        return cli.<SampleCommand>getCommand().options();
    }

    @ParameterizedTest
    @ValueSource(strings = {"ulysses", "ring", "wallfacer", "fpdt", "hybrid"})
    void sampleRunsAndPassesItsCheck(String scheme) {
        String[] args = {"--ranks", "4", "--seq-len", "128", "--heads", "4", "--kv-heads", "2", "--head-dim", "32",
                "--iterations", "1", "--seed", "7"};
        assertTrue(SchemeSample.run(parse(scheme, args)));
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
            public boolean serves(BackendChoice backendName) {
                return true;
            }

            @Override
            @SuppressWarnings("unchecked")
            public <T> List<T> run(int ranks, BackendChoice backendName, Duration collectiveTimeout, RankTask<T> task) {
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
        assertTrue(SchemeSample.run(parse(scheme, SMALL), oneProcessOf(2, 2, UnaryOperator.identity())));
    }

    /** Rows held by ranks 2 and 3, checked as if they were ranks 0 and 1's: the check must see it. */
    @Test
    void aProcessWhoseRowsAreNotItsRanksFailsTheCheck() {
        RankLauncher mislabelled = oneProcessOf(2, 2, r -> new SchemeSample.RankRun(r.rank() - 2, r.seed(), r.forwardNanos(),
                r.backwardNanos(), r.forward(), r.backward(), r.outputs()));
        assertFalse(SchemeSample.run(parse("ring", SMALL), mislabelled));
    }

    /** Each rank offers its own seed (as each process of a job draws one from its clock); all get rank 0's, every bit of it. */
    @Test
    void ranksAgreeOnRankZerosSeed() {
        long rankZeros = 0x8000_0001_FFFF_FFFEL;
        List<Long> agreed = LocalRanks.run(4, BackendChoice.CPU, (backend, comm) ->
                SchemeSample.agreedSeed(backend, comm, comm.rank() == 0 ? rankZeros : comm.rank()));
        assertEquals(List.of(rankZeros, rankZeros, rankZeros, rankZeros), agreed);
    }

    @Test
    void optionsGetDefaultsThatFitTheRankCount() {
        assertEquals(new WallFacer(2, Arrangement.TEAMS_ADJACENT), parse("wallfacer", "--ranks", "8", "--seq-len", "1024").scheme());
        assertEquals(new Fpdt(32), parse("fpdt", "--ranks", "8", "--seq-len", "1024").scheme());
        assertEquals(new WallFacer(1, Arrangement.TEAMS_ADJACENT), parse("wallfacer", "--ranks", "2").scheme());
        assertEquals(new Hybrid(1), parse("hybrid", "--ranks", "3", "--seq-len", "96").scheme());
        assertEquals(new WallFacer(2, Arrangement.RINGS_ADJACENT),
                parse("wallfacer", "--ranks", "16", "--arrangement", "rings_adjacent").scheme());
    }

    /** cuda's flash kernels take bf16, not f32: `sample --backend cuda` must work without --dtype. */
    @Test
    void theDefaultDtypeIsOneTheBackendComputesIn() {
        assertEquals(DType.F32, parse("ring").shape().dtype());
        assertEquals(DType.BF16, parse("ring", "--backend", "cuda").shape().dtype());
        assertEquals(DType.F32, parse("ring", "--backend", "cuda", "--dtype", "f32").shape().dtype());
    }

    @Test
    void badOptionsSayWhatIsWrong() {
        var unknown = assertThrows(IllegalArgumentException.class, () -> parse("ring", "--rank", "4"));
        assertTrue(unknown.getMessage().startsWith("Unknown options: '--rank'"), unknown.getMessage());
        var number = assertThrows(IllegalArgumentException.class, () -> parse("ring", "--ranks", "four"));
        assertTrue(number.getMessage().contains("'--ranks': 'four' is not an int"), number.getMessage());
        var dtype = assertThrows(IllegalArgumentException.class, () -> parse("ring", "--dtype", "f64"));
        assertTrue(dtype.getMessage().contains("'--dtype': 'f64' is not one of f32|bf16"), dtype.getMessage());
        var scheme = assertThrows(IllegalArgumentException.class, () -> parse("sideways"));
        assertTrue(scheme.getMessage().contains("unknown scheme 'sideways'; choose one of [ulysses, ring, wallfacer, fpdt, hybrid]"),
                scheme.getMessage());
    }

    @Test
    void anUnknownBackendStopsWithTheAvailableOnes() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> SchemeSample.run(parse("ring", "--backend", "metal", "--seq-len", "64")));
        assertTrue(e.getMessage().contains("unknown backend 'metal'"), e.getMessage());
    }
}
