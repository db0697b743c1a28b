package dev.longbow.parallel;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.comm.RankFailedException;
import dev.longbow.comm.RankMemory;
import dev.longbow.comm.local.LocalRanks;
import dev.longbow.parallel.WallFacer.Arrangement;
import dev.longbow.tensor.DType;
import java.time.Duration;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Every configuration that cannot run is refused before any work, with a message naming the value
 * and the limit: settings that make no sense on their own when the scheme is made, a shape no
 * kernel runs when the shape is made, the rest by {@link Scheme#validate}.
 */
class SchemeValidationTest {
    private static final AttentionShape SHAPE = new AttentionShape(256, 8, 2, 64, DType.F32, true);

    private static void assertRefused(Scheme scheme, int ranks, AttentionShape shape, String... fragments) {
        assertRefused(() -> scheme.validate(ranks, shape), fragments);
    }

    private static void assertRefused(Executable made, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, made);
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "'" + e.getMessage() + "' should contain '" + f + "'");
        }
    }

    private static AttentionShape heads(int hq, int hkv) {
        return new AttentionShape(256, hq, hkv, 64, DType.F32, true);
    }

    @Test
    void ulyssesNeedsHeadsDivisibleByRanksAndSuggestsTheAlternatives() {
        assertRefused(new Ulysses(), 4, heads(6, 6), "heads 6 not divisible by ranks 4", "use hybrid or wallfacer");
        assertRefused(new Ulysses(), 4, heads(12, 3), "kv heads 3 cannot be split over 4 ranks");
        assertRefused(new Ulysses(), 4, heads(12, 6), "kv heads 6 cannot be split over 4 ranks");
        new Ulysses().validate(8, heads(8, 2));
    }

    @Test
    void ringNeedsTwoChunksPerRank() {
        assertRefused(new Ring(), 4, new AttentionShape(102, 8, 8, 64, DType.F32, true), "sequence length 102 not divisible by ranks 4");
        assertRefused(new Ring(), 4, new AttentionShape(36, 8, 8, 64, DType.F32, true), "sequence length 36",
                "2 x 4 = 8 equal zigzag chunks");
    }

    @Test
    void wallFacerTeamSizeMustDivideRanksAndItsSquareToo() {
        assertRefused(() -> new WallFacer(0, Arrangement.TEAMS_ADJACENT), "team size 0 must be at least 1");
        assertRefused(new WallFacer(3, Arrangement.TEAMS_ADJACENT), 8, SHAPE, "team size 3 does not divide ranks 8");
        assertRefused(new WallFacer(4, Arrangement.TEAMS_ADJACENT), 8, SHAPE, "team size 4 exceeds sqrt(ranks 8)");
        assertRefused(new WallFacer(2, Arrangement.TEAMS_ADJACENT), 6, new AttentionShape(240, 8, 8, 64, DType.F32, true),
                "ranks 6 not divisible by C^2 = 4");
        assertRefused(() -> new WallFacer(2, null), "needs an arrangement");
        assertRefused(new WallFacer(3, Arrangement.TEAMS_ADJACENT), 9, new AttentionShape(27, 9, 9, 64, DType.F32, true),
                "sequence length 27", "2 x 3 = 6 equal zigzag chunks");
    }

    @Test
    void fpdtChunkMustDivideTheLocalSequence() {
        assertRefused(new Fpdt(5), 8, SHAPE, "chunk size 5 does not divide the local sequence 32");
        assertRefused(() -> new Fpdt(0), "chunk size 0 must be at least 1");
        assertRefused(new Fpdt(4), 4, heads(6, 6), "heads 6 not divisible by ranks 4", "FPDT");
    }

    @Test
    void hybridDegreeMustDivideRanksAndHeads() {
        assertRefused(() -> new Hybrid(0), "Ulysses degree 0 must be at least 1");
        assertRefused(new Hybrid(3), 8, SHAPE, "Ulysses degree 3", "divide ranks 8");
        assertRefused(new Hybrid(4), 8, heads(6, 6), "heads 6 not divisible by Ulysses degree 4");
        assertRefused(new Hybrid(1), 8, new AttentionShape(200, 8, 8, 64, DType.F32, true), "2 x 8 = 16 equal zigzag chunks");
    }

    @Test
    void shapesThatNoSchemeRuns() {
        assertRefused(() -> heads(8, 3), "heads 8 not divisible by kv heads 3");
        assertRefused(() -> new AttentionShape(256, 8, 8, 512, DType.F32, true), "head dim 512 exceeds 256");
        assertRefused(() -> new AttentionShape(256, 8, 8, 64, DType.I32, true), "dtype I32 is not a floating-point type");
        assertRefused(() -> new AttentionShape(0, 8, 8, 64, DType.F32, true), "sequence length 0", "must be positive");
        assertRefused(new Ring(), 0, SHAPE, "ranks 0 must be at least 1");
    }

    /** The sequence splits over the ranks or the run stops, with the length to use instead: one check, one message, for every scheme. */
    @Test
    void everySchemeRefusesASequenceThatDoesNotSplitOverTheRanks() {
        AttentionShape odd = new AttentionShape(1000, 8, 8, 64, DType.F32, true);
        for (Scheme scheme : new Scheme[] {new Ulysses(), new Ring(), new WallFacer(1, Arrangement.TEAMS_ADJACENT), new Fpdt(1), new Hybrid(1)}) {
            assertRefused(scheme, 3, odd, "sequence length 1000 not divisible by ranks 3", "use --seq-len 1002");
        }
    }

    /** Runs on two in-process ranks and returns what the first failing rank threw. */
    private static Throwable failureOnTwoRanks(dev.longbow.comm.RankTask<Void> task) {
        RankFailedException e = assertThrows(RankFailedException.class,
                () -> Assertions.assertTimeoutPreemptively(Duration.ofSeconds(30), () -> LocalRanks.run(2, BackendChoice.CPU, task)));
        return e.getCause();
    }

    @Test
    void ranksThatDisagreeOnShapeDtypeOrSchemeAllStop() {
        Throwable kv = failureOnTwoRanks((backend, comm) -> {
            new Ring().attention(heads(8, comm.rank() == 1 ? 4 : 2), backend, comm);
            return null;
        });
        assertInstanceOf(IllegalArgumentException.class, kv);
        assertTrue(kv.getMessage().contains("rank 1 has kvHeads 4 but rank 0 has 2"), kv.getMessage());

        Throwable dtype = failureOnTwoRanks((backend, comm) -> {
            new Ring().attention(new AttentionShape(256, 8, 2, 64, comm.rank() == 1 ? DType.BF16 : DType.F32, true), backend, comm);
            return null;
        });
        assertTrue(dtype.getMessage().contains("rank 1 has dtype BF16 but rank 0 has F32"), dtype.getMessage());

        Throwable scheme = failureOnTwoRanks((backend, comm) -> {
            (comm.rank() == 1 ? new Ring() : new Ulysses()).attention(SHAPE, backend, comm);
            return null;
        });
        assertTrue(scheme.getMessage().contains("rank 1 has scheme Ring[] but rank 0 has Ulysses[]"), scheme.getMessage());

        Throwable settings = failureOnTwoRanks((backend, comm) -> {
            new WallFacer(1, comm.rank() == 1 ? Arrangement.RINGS_ADJACENT : Arrangement.TEAMS_ADJACENT).attention(SHAPE, backend, comm);
            return null;
        });
        assertTrue(settings.getMessage().contains("rank 1 has scheme WallFacer[teamSize=1, arrangement=RINGS_ADJACENT] but rank 0 "
                + "has WallFacer[teamSize=1, arrangement=TEAMS_ADJACENT]"), settings.getMessage());
    }

    @Test
    void tensorsThatDoNotMatchTheDeclaredShapeAreRefused() {
        Throwable e = assertThrows(RankFailedException.class, () -> LocalRanks.run(1, BackendChoice.CPU, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend); var scheme = new Ring().attention(SHAPE, backend, comm)) {
                scheme.forward(mem.zeros(DType.F32, 256, 8, 64), mem.zeros(DType.F32, 256, 8, 64), mem.zeros(DType.F32, 256, 2, 64),
                        mem.zeros(DType.F32, 256, 8, 64), mem.zeros(DType.F32, 256, 8));
            }
            return null;
        })).getCause();
        assertTrue(e.getMessage().contains("ring: k is TensorF32[256, 8, 64]") && e.getMessage().contains("expects F32[256, 2, 64]"), e.getMessage());

        Throwable grad = assertThrows(RankFailedException.class, () -> LocalRanks.run(1, BackendChoice.CPU, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend); var scheme = new Ulysses().attention(SHAPE, backend, comm)) {
                var q = mem.zeros(DType.F32, 256, 8, 64);
                var kv = mem.zeros(DType.F32, 256, 2, 64);
                try (var saved = scheme.forward(q, kv, kv, mem.zeros(DType.F32, 256, 8, 64), mem.zeros(DType.F32, 256, 8))) {
                    scheme.backward(saved, q, mem.zeros(DType.BF16, 256, 8, 64), kv, kv);
                }
            }
            return null;
        })).getCause();
        assertTrue(grad.getMessage().contains("ulysses: dq is TensorBF16[256, 8, 64]"), grad.getMessage());
    }
}
