package dev.longbow.parallel;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.comm.RankFailedException;
import dev.longbow.comm.RankMemory;
import dev.longbow.comm.local.LocalRanks;
import dev.longbow.parallel.SchemeConfig.Arrangement;
import dev.longbow.tensor.DType;
import java.time.Duration;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;

/** Every configuration that cannot run is refused before any work, with a message naming the value and the limit. */
class SchemeConfigTest {
    private static final AttentionShape SHAPE = new AttentionShape(256, 8, 2, 64, DType.F32);

    private static void assertRefused(SchemeConfig config, int ranks, AttentionShape shape, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> config.validate(ranks, shape));
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "'" + e.getMessage() + "' should contain '" + f + "'");
        }
    }

    private static AttentionShape heads(int hq, int hkv) {
        return new AttentionShape(256, hq, hkv, 64, DType.F32);
    }

    @Test
    void ulyssesNeedsHeadsDivisibleByRanksAndSuggestsTheAlternatives() {
        assertRefused(SchemeConfig.ulysses(true), 4, heads(6, 6), "heads 6 not divisible by ranks 4", "use hybrid or wallfacer");
        assertRefused(SchemeConfig.ulysses(true), 4, heads(12, 3), "kv heads 3 cannot be split over 4 ranks");
        assertRefused(SchemeConfig.ulysses(true), 4, heads(12, 6), "kv heads 6 cannot be split over 4 ranks");
        SchemeConfig.ulysses(true).validate(8, heads(8, 2));
    }

    @Test
    void ringNeedsTwoChunksPerRank() {
        assertRefused(SchemeConfig.ring(true), 4, new AttentionShape(102, 8, 8, 64, DType.F32), "sequence length 102 not divisible by ranks 4");
        assertRefused(SchemeConfig.ring(true), 4, new AttentionShape(36, 8, 8, 64, DType.F32), "sequence length 36",
                "2 x 4 = 8 equal zigzag chunks");
    }

    @Test
    void wallFacerTeamSizeMustDivideRanksAndItsSquareToo() {
        assertRefused(SchemeConfig.wallFacer(true, 0, Arrangement.TEAMS_ADJACENT), 4, SHAPE, "team size 0 must be at least 1");
        assertRefused(SchemeConfig.wallFacer(true, 3, Arrangement.TEAMS_ADJACENT), 8, SHAPE, "team size 3 does not divide ranks 8");
        assertRefused(SchemeConfig.wallFacer(true, 4, Arrangement.TEAMS_ADJACENT), 8, SHAPE, "team size 4 exceeds sqrt(ranks 8)");
        assertRefused(SchemeConfig.wallFacer(true, 2, Arrangement.TEAMS_ADJACENT), 6, new AttentionShape(240, 8, 8, 64, DType.F32),
                "ranks 6 not divisible by C^2 = 4");
        assertRefused(SchemeConfig.wallFacer(true, 2, null), 4, SHAPE, "needs an arrangement");
        assertRefused(SchemeConfig.wallFacer(true, 3, Arrangement.TEAMS_ADJACENT), 9, new AttentionShape(27, 9, 9, 64, DType.F32),
                "sequence length 27", "2 x 3 = 6 equal zigzag chunks");
    }

    @Test
    void fpdtChunkMustDivideTheLocalSequence() {
        assertRefused(SchemeConfig.fpdt(true, 5), 8, SHAPE, "chunk size 5 does not divide the local sequence 32");
        assertRefused(SchemeConfig.fpdt(true, 0), 8, SHAPE, "chunk size 0 must be at least 1");
        assertRefused(SchemeConfig.fpdt(true, 4), 4, heads(6, 6), "heads 6 not divisible by ranks 4", "FPDT");
    }

    @Test
    void hybridDegreeMustDivideRanksAndHeads() {
        assertRefused(SchemeConfig.hybrid(true, 3), 8, SHAPE, "Ulysses degree 3", "divide ranks 8");
        assertRefused(SchemeConfig.hybrid(true, 4), 8, heads(6, 6), "heads 6 not divisible by Ulysses degree 4");
        assertRefused(SchemeConfig.hybrid(true, 1), 8, new AttentionShape(200, 8, 8, 64, DType.F32), "2 x 8 = 16 equal zigzag chunks");
    }

    @Test
    void shapesAndNamesThatNoSchemeRuns() {
        assertRefused(new SchemeConfig("striped", true, 1, 0, 0, Arrangement.TEAMS_ADJACENT), 2, SHAPE, "unknown scheme 'striped'", "ulysses");
        assertRefused(SchemeConfig.ring(true), 2, heads(8, 3), "heads 8 not divisible by kv heads 3");
        assertRefused(SchemeConfig.ring(true), 2, new AttentionShape(256, 8, 8, 512, DType.F32), "head dim 512 exceeds 256");
        assertRefused(SchemeConfig.ring(true), 2, new AttentionShape(256, 8, 8, 64, DType.I32), "dtype I32 is not a floating-point type");
        assertRefused(SchemeConfig.ring(true), 0, SHAPE, "ranks 0 must be at least 1");
    }

    /** Runs on two in-process ranks and returns what the first failing rank threw. */
    private static Throwable failureOnTwoRanks(dev.longbow.comm.RankTask<Void> task) {
        RankFailedException e = assertThrows(RankFailedException.class,
                () -> Assertions.assertTimeoutPreemptively(Duration.ofSeconds(30), () -> LocalRanks.run(2, "cpu", task)));
        return e.getCause();
    }

    @Test
    void ranksThatDisagreeOnShapeDtypeOrSchemeAllStop() {
        Throwable kv = failureOnTwoRanks((backend, comm) -> {
            SequenceParallel.create(SchemeConfig.ring(true), heads(8, comm.rank() == 1 ? 4 : 2), backend, comm);
            return null;
        });
        assertInstanceOf(IllegalArgumentException.class, kv);
        assertTrue(kv.getMessage().contains("rank 1 has kvHeads 4 but rank 0 has 2"), kv.getMessage());

        Throwable dtype = failureOnTwoRanks((backend, comm) -> {
            SequenceParallel.create(SchemeConfig.ring(true), new AttentionShape(256, 8, 2, 64, comm.rank() == 1 ? DType.BF16 : DType.F32), backend, comm);
            return null;
        });
        assertTrue(dtype.getMessage().contains("rank 1 has dtype BF16 but rank 0 has F32"), dtype.getMessage());

        Throwable scheme = failureOnTwoRanks((backend, comm) -> {
            SequenceParallel.create(comm.rank() == 1 ? SchemeConfig.ring(true) : SchemeConfig.ulysses(true), SHAPE, backend, comm);
            return null;
        });
        assertTrue(scheme.getMessage().contains("rank 1 has scheme ring but rank 0 has ulysses"), scheme.getMessage());
    }

    @Test
    void tensorsThatDoNotMatchTheDeclaredShapeAreRefused() {
        Throwable e = assertThrows(RankFailedException.class, () -> LocalRanks.run(1, "cpu", (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend); var scheme = SequenceParallel.create(SchemeConfig.ring(true), SHAPE, backend, comm)) {
                scheme.forward(mem.zeros(DType.F32, 256, 8, 64), mem.zeros(DType.F32, 256, 8, 64), mem.zeros(DType.F32, 256, 2, 64),
                        mem.zeros(DType.F32, 256, 8, 64), mem.zeros(DType.F32, 256, 8));
            }
            return null;
        })).getCause();
        assertTrue(e.getMessage().contains("ring: k is TensorF32[256, 8, 64]") && e.getMessage().contains("expects F32[256, 2, 64]"), e.getMessage());

        Throwable grad = assertThrows(RankFailedException.class, () -> LocalRanks.run(1, "cpu", (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend); var scheme = SequenceParallel.create(SchemeConfig.ulysses(true), SHAPE, backend, comm)) {
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
