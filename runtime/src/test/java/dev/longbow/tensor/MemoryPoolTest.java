package dev.longbow.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The pool that keeps a rank's memory across steps, on host blocks (standing in for device ones where the device is full). */
class MemoryPoolTest {
    private final List<HostAllocation> made = new ArrayList<>();
    private long capacity = Long.MAX_VALUE;

    private Allocation allocate(long bytes) {
        long used = made.stream().filter(b -> b.segment().scope().isAlive()).mapToLong(b -> b.segment().byteSize()).sum();
        if (used + bytes > capacity) {
            // What Arena.allocate throws when malloc refuses (a device allocator throws OutOfDeviceMemoryException).
            throw new OutOfMemoryError("Cannot reserve " + bytes + " bytes, " + (capacity - used) + " free");
        }
        HostAllocation block = new HostAllocation(bytes);
        made.add(block);
        return block;
    }

    @Test
    void aStepThatRepeatsAllocatesNothingNew() {
        try (MemoryPool pool = new MemoryPool("test memory", this::allocate)) {
            for (int step = 0; step < 3; step++) {
                Allocation a = pool.take(1000);
                Allocation b = pool.take(1000);
                Allocation c = pool.take(5000);
                assertEquals(1000, a.segment().byteSize(), "the lease is exactly what was asked");
                assertNotEquals(a.segment().address(), b.segment().address(), "two live leases never share a block");
                a.close();
                b.close();
                c.close();
            }
            assertEquals(3, pool.blocks());
            assertEquals(2 * 1024 + 5120, pool.bytes(), "sizes rounded up to " + MemoryPool.GRANULE + " bytes");
        }
        assertTrue(made.stream().noneMatch(b -> b.segment().scope().isAlive()), "closing the pool frees every block");
    }

    @Test
    void aClosedLeaseIsInvalidLikeAFreedBuffer() {
        try (MemoryPool pool = new MemoryPool("test memory", this::allocate)) {
            Allocation lease = pool.take(64);
            var view = lease.segment();
            view.set(ValueLayout.JAVA_INT, 0, 42);
            lease.close();
            assertFalse(view.scope().isAlive());
            assertThrows(IllegalStateException.class, () -> view.get(ValueLayout.JAVA_INT, 0));
            lease.close();  // idempotent: the block is given back once
            pool.take(64);
            pool.take(64);
            assertEquals(2, pool.blocks());
        }
    }

    @Test
    void fullMemoryFreesIdleBlocksAndRetriesOnce() {
        capacity = 8192;
        try (MemoryPool pool = new MemoryPool("test memory", this::allocate)) {
            pool.take(4096).close();
            pool.take(2048).close();
            Allocation big = pool.take(6144);  // fits only once the idle blocks are freed
            assertEquals(6144, big.segment().byteSize());
            assertEquals(1, pool.blocks());
            var e = assertThrows(OutOfMemoryError.class, () -> pool.take(4096));
            assertTrue(e.getMessage().contains("4096"), e.getMessage());
        }
    }
}
