package dev.longbow.backend.cpu;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.backend.Backend;
import dev.longbow.backend.Backends;
import dev.longbow.backend.Pending;
import dev.longbow.tensor.Allocation;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;
import org.junit.jupiter.api.Test;

class CpuBackendTest {

    @Test
    void foundByNameThroughTheServiceLoader() {
        try (Backend cpu = Backends.open(BackendChoice.CPU, 3)) {
            assertEquals("cpu", cpu.name());
            assertEquals(Placement.HOST, cpu.placement());
            assertTrue(cpu.model() instanceof CpuModelOps, "the model ops are wired in");
        }
    }

    /** A step's buffers come back from the backend's pool on the next step: the same blocks, nothing new. */
    @Test
    void aStepThatRepeatsGetsItsBlocksBack() {
        try (Backend cpu = Backends.open(BackendChoice.CPU, 0)) {
            long[] first = new long[2];
            for (int step = 0; step < 3; step++) {
                try (Allocation a = cpu.allocate(8 << 20); Allocation b = cpu.allocate(8 << 20)) {
                    assertTrue(a.segment().address() != b.segment().address(), "two live blocks never share memory");
                    if (step == 0) {
                        first[0] = a.segment().address();
                        first[1] = b.segment().address();
                    } else {
                        assertEquals(java.util.Set.of(first[0], first[1]), java.util.Set.of(a.segment().address(), b.segment().address()));
                    }
                }
            }
        }
    }

    @Test
    void copiesHappenInIssueOrder() {
        int n = 1 << 20;
        try (Backend cpu = Backends.open(BackendChoice.CPU, 0);
             Slab slab = Slab.builder().add("a", DType.F32, n).add("b", DType.F32, n).add("c", DType.F32, n)
                     .allocate(cpu::allocate)) {
            Tensor a = slab.get("a");
            Tensor b = slab.get("b");
            Tensor c = slab.get("c");
            cpu.tensors().fill(a, 7f);
            // Copy a -> b, then b -> c: c sees 7 only if the second copy waited for the first.
            Pending first = cpu.copyAsync(a, b);
            Pending second = cpu.copyAsync(b, c);
            Pending probe = cpu.copyAsync(a.slice(0, 1), a.slice(1, 2));
            second.await();
            first.await();
            probe.await();
            assertEquals(7f, c.getFloat(n - 1));
            assertEquals(7f, b.getFloat(0));
            cpu.synchronize();
            try (Allocation extra = cpu.allocate(64)) {
                assertEquals(Placement.HOST, extra.placement());
                assertTrue(extra.segment().byteSize() >= 64);
            }
        }
    }
}
