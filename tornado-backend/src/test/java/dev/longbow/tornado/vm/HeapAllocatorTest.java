package dev.longbow.tornado.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.tensor.Slab;
import dev.longbow.testing.HostTensors;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The device heap's allocator under random allocate/free sequences, checked against a byte map of the heap. */
class HeapAllocatorTest {

    @Test
    void liveRangesNeverOverlapAndFreedMemoryComesBack() {
        long capacity = 1 << 20;
        HeapAllocator heap = new HeapAllocator(capacity);
        int[] owner = new int[(int) (capacity / Slab.ALIGNMENT)];
        List<long[]> live = new ArrayList<>();
        Random random = new Random(HostTensors.seed("HeapAllocatorTest"));
        for (int step = 0; step < 20_000; step++) {
            if (!live.isEmpty() && (random.nextInt(3) == 0 || heap.usedBytes() > capacity * 3 / 4)) {
                long[] a = live.remove(random.nextInt(live.size()));
                heap.free(a[0]);
                mark(owner, a, 0);
            } else {
                long bytes = 1 + random.nextInt(20_000);
                long start;
                try {
                    start = heap.allocate(bytes);
                } catch (IllegalStateException full) {
                    assertTrue(longestFreeRun(owner) * Slab.ALIGNMENT < bytes, "refused " + bytes + " bytes with room left");
                    continue;
                }
                long[] a = {start, bytes};
                assertEquals(0, start % Slab.ALIGNMENT, "aligned start");
                assertTrue(start + bytes <= capacity, "inside the heap");
                for (long u = start / Slab.ALIGNMENT; u < (start + bytes + Slab.ALIGNMENT - 1) / Slab.ALIGNMENT; u++) {
                    assertEquals(0, owner[(int) u], "allocation at " + start + " overlaps a live one");
                }
                mark(owner, a, step + 1);
                live.add(a);
                assertEquals(highestOwned(owner), heap.highWater(), "high water is the end of the last live block");
            }
        }
        live.forEach(a -> heap.free(a[0]));
        assertEquals(0, heap.usedBytes());
        assertEquals(0, heap.allocate(capacity), "all free blocks merged back into one");
    }

    @Test
    void exhaustionSaysHowToGrowTheHeap() {
        HeapAllocator heap = new HeapAllocator(4096);
        heap.allocate(4000);
        var e = assertThrows(IllegalStateException.class, () -> heap.allocate(100));
        assertTrue(e.getMessage().contains("-D" + DeviceSession.HEAP_PROPERTY), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> heap.free(256));
    }

    private static long highestOwned(int[] owner) {
        for (int u = owner.length - 1; u >= 0; u--) {
            if (owner[u] != 0) {
                return (u + 1L) * Slab.ALIGNMENT;
            }
        }
        return 0;
    }

    private static long longestFreeRun(int[] owner) {
        long best = 0;
        long run = 0;
        for (int o : owner) {
            run = o == 0 ? run + 1 : 0;
            best = Math.max(best, run);
        }
        return best;
    }

    private static void mark(int[] owner, long[] a, int value) {
        for (long u = a[0] / Slab.ALIGNMENT; u < (a[0] + a[1] + Slab.ALIGNMENT - 1) / Slab.ALIGNMENT; u++) {
            owner[(int) u] = value;
        }
    }
}
