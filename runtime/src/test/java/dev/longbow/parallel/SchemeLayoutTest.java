package dev.longbow.parallel;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.comm.local.LocalRanks;
import dev.longbow.parallel.WallFacer.Arrangement;
import dev.longbow.tensor.DType;
import java.util.BitSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Each scheme's layout deals every token to exactly one rank, and the built scheme reports the layout its config promised. */
class SchemeLayoutTest {
    private static final int RANKS = 16;
    private static final AttentionShape SHAPE = new AttentionShape(256, 16, 16, 8, DType.F32, true);
    private static final List<Scheme> CONFIGS = List.of(
            new Ulysses(), new Ring(),
            new WallFacer(2, Arrangement.TEAMS_ADJACENT), new WallFacer(4, Arrangement.RINGS_ADJACENT),
            new Fpdt(4), new Hybrid(4));

    @Test
    void everySchemeLayoutIsAPermutation() {
        for (Scheme config : CONFIGS) {
            config.validate(RANKS, SHAPE);
            SequenceLayout layout = config.layout();
            BitSet seen = new BitSet();
            for (int r = 0; r < RANKS; r++) {
                for (long i = 0; i < SHAPE.localLen(RANKS); i++) {
                    long g = layout.globalPosition(r, RANKS, SHAPE.seqLen(), i);
                    assertTrue(g >= 0 && g < SHAPE.seqLen() && !seen.get((int) g), config.name() + ": position " + g);
                    seen.set((int) g);
                }
            }
            assertEquals(SHAPE.seqLen(), seen.cardinality(), config.name());
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
        for (Scheme config : CONFIGS) {
            List<SequenceLayout> layouts = LocalRanks.run(RANKS, BackendChoice.CPU,
                    (backend, comm) -> {
                        try (SequenceParallelAttention scheme = config.attention(SHAPE, backend, comm)) {
                            return scheme.layout();
                        }
                    });
            SequenceLayout expected = config.layout();
            for (int r = 0; r < RANKS; r++) {
                for (long i = 0; i < SHAPE.localLen(RANKS); i++) {
                    assertEquals(expected.globalPosition(r, RANKS, SHAPE.seqLen(), i),
                            layouts.get(r).globalPosition(r, RANKS, SHAPE.seqLen(), i), config.name());
                }
            }
        }
    }
}
