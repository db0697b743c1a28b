package dev.longbow.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.comm.local.LocalRanks;
import dev.longbow.parallel.SchemeConfig.Arrangement;
import dev.longbow.tensor.DType;
import java.util.BitSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Each scheme's layout deals every token to exactly one rank, and the built scheme reports the layout its config promised. */
class SchemeLayoutTest {
    private static final int RANKS = 16;
    private static final AttentionShape SHAPE = new AttentionShape(256, 16, 16, 8, DType.F32);
    private static final List<SchemeConfig> CONFIGS = List.of(
            SchemeConfig.ulysses(true), SchemeConfig.ring(true),
            SchemeConfig.wallFacer(true, 2, Arrangement.TEAMS_ADJACENT), SchemeConfig.wallFacer(true, 4, Arrangement.RINGS_ADJACENT),
            SchemeConfig.fpdt(true, 4), SchemeConfig.hybrid(true, 4));

    @Test
    void everySchemeLayoutIsAPermutation() {
        for (SchemeConfig config : CONFIGS) {
            config.validate(RANKS, SHAPE);
            SequenceLayout layout = config.layout(RANKS);
            BitSet seen = new BitSet();
            for (int r = 0; r < RANKS; r++) {
                for (long i = 0; i < SHAPE.localLen(RANKS); i++) {
                    long g = layout.globalPosition(r, RANKS, SHAPE.seqLen(), i);
                    assertTrue(g >= 0 && g < SHAPE.seqLen() && !seen.get((int) g), config.scheme() + ": position " + g);
                    seen.set((int) g);
                }
            }
            assertEquals(SHAPE.seqLen(), seen.cardinality(), config.scheme());
        }
    }

    @Test
    void wallFacerSeatsAreOneToOneWithRanks() {
        for (Arrangement arrangement : Arrangement.values()) {
            for (int c : new int[] {1, 2, 4}) {
                BitSet seen = new BitSet();
                for (int r = 0; r < RANKS; r++) {
                    WallFacer.Seat seat = WallFacer.Seat.of(r, RANKS, c, arrangement);
                    assertEquals(r, seat.rank(RANKS, c, arrangement), arrangement + " C=" + c);
                    int key = (seat.group() * (RANKS / (c * c)) + seat.index()) * c + seat.pos();
                    assertTrue(!seen.get(key), "two ranks in one seat");
                    seen.set(key);
                }
            }
        }
        // Teams adjacent: ranks 0..C-1 form team 0. Rings adjacent: ranks 0..L-1 form the first sub-ring.
        assertEquals(new WallFacer.Seat(0, 0, 1), WallFacer.Seat.of(1, RANKS, 2, Arrangement.TEAMS_ADJACENT));
        assertEquals(new WallFacer.Seat(0, 1, 0), WallFacer.Seat.of(1, RANKS, 2, Arrangement.RINGS_ADJACENT));
    }

    @Test
    void builtSchemesReportTheirConfiguredLayout() {
        for (SchemeConfig config : CONFIGS) {
            List<SequenceLayout> layouts = LocalRanks.run(RANKS, "cpu",
                    (backend, comm) -> {
                        try (SequenceParallelAttention scheme = SequenceParallel.create(config, SHAPE, backend, comm)) {
                            return scheme.layout();
                        }
                    });
            SequenceLayout expected = config.layout(RANKS);
            for (int r = 0; r < RANKS; r++) {
                for (long i = 0; i < SHAPE.localLen(RANKS); i++) {
                    assertEquals(expected.globalPosition(r, RANKS, SHAPE.seqLen(), i),
                            layouts.get(r).globalPosition(r, RANKS, SHAPE.seqLen(), i), config.scheme());
                }
            }
        }
    }
}
