package dev.longbow.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.BitSet;
import org.junit.jupiter.api.Test;

class SequenceLayoutTest {

    private static void assertPermutation(SequenceLayout layout, int ranks, long seqLen) {
        BitSet seen = new BitSet((int) seqLen);
        for (int r = 0; r < ranks; r++) {
            for (long i = 0; i < seqLen / ranks; i++) {
                long g = layout.globalPosition(r, ranks, seqLen, i);
                assertTrue(g >= 0 && g < seqLen, "position " + g);
                assertTrue(!seen.get((int) g), "position " + g + " held twice");
                seen.set((int) g);
            }
        }
        assertEquals(seqLen, seen.cardinality());
    }

    @Test
    void everyLayoutIsAPermutation() {
        for (int p : new int[] {1, 2, 4, 8}) {
            assertPermutation(SequenceLayout.CONTIGUOUS, p, 96L * p);
            assertPermutation(SequenceLayout.ZIGZAG, p, 96L * p);
            assertPermutation(SequenceLayout.strided(3), p, 96L * p);
        }
    }

    @Test
    void zigzagRankHoldsChunksRAndTwoPMinusOneMinusR() {
        int p = 4;
        long seq = 8 * 5;
        // chunk c covers [5c, 5c+5)
        assertEquals(5 * 1, SequenceLayout.ZIGZAG.globalPosition(1, p, seq, 0));
        assertEquals(5 * 6, SequenceLayout.ZIGZAG.globalPosition(1, p, seq, 5));
        assertEquals(5 * 7 + 4, SequenceLayout.ZIGZAG.globalPosition(0, p, seq, 9));
    }

    @Test
    void stridedSubChunksOfOneIndexAcrossRanksAreContiguous() {
        int p = 4;
        long sub = 3;
        long seq = p * sub * 5;
        SequenceLayout layout = SequenceLayout.strided(sub);
        for (long j = 0; j < 5; j++) {
            long expected = j * p * sub;
            for (int r = 0; r < p; r++) {
                for (long t = 0; t < sub; t++) {
                    assertEquals(expected++, layout.globalPosition(r, p, seq, j * sub + t));
                }
            }
        }
    }
}
