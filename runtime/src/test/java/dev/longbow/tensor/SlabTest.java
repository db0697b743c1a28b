package dev.longbow.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SlabTest {

    @Test
    void viewsAreAlignedDisjointAndInsideTheBlock() {
        try (Slab slab = Slab.builder()
                .add("q", DType.BF16, 3, 5, 7)
                .add("lse", DType.F32, 3, 5)
                .add("tokens", DType.I32, 11)
                .allocate(HostAllocation::new)) {
            Tensor q = slab.get("q");
            Tensor lse = slab.get("lse");
            Tensor tokens = slab.get("tokens");
            long base = q.data().address();
            long end = base + slab.byteSize();
            long previousEnd = base;
            for (Tensor t : new Tensor[] {q, lse, tokens}) {
                long start = t.data().address();
                assertEquals(0, (start - base) % Slab.ALIGNMENT, t::toString);
                assertTrue(start >= previousEnd, "overlap at " + t);
                previousEnd = start + t.byteSize();
                assertTrue(previousEnd <= end);
            }
            assertEquals(Shape.of(3, 5, 7), q.shape());
            assertEquals(3 * 5 * 7 * 2, q.byteSize());
        }
    }

    @Test
    void unknownNameListsTheKnownOnes() {
        try (Slab slab = Slab.builder().add("k", DType.F32, 4).allocate(HostAllocation::new)) {
            var e = assertThrows(IllegalArgumentException.class, () -> slab.get("v"));
            assertTrue(e.getMessage().contains("[k]"), e.getMessage());
        }
    }

    @Test
    void sliceAndViewShareMemory() {
        try (var block = new HostAllocation(4 * 6 * 4)) {
            Tensor t = HostAllocation.tensor(block, DType.F32, 4, 6);
            for (int i = 0; i < 24; i++) {
                t.setFloat(i, i);
            }
            Tensor rows = t.slice(1, 3);
            assertEquals(Shape.of(2, 6), rows.shape());
            assertEquals(6f, rows.getFloat(0));
            assertEquals(17f, rows.view(12).getFloat(11));
            assertThrows(IndexOutOfBoundsException.class, () -> t.slice(3, 5));
            assertThrows(IllegalArgumentException.class, () -> t.view(5, 5));
        }
    }
}
