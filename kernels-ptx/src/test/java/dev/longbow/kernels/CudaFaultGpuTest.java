package dev.longbow.kernels;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.backend.Backend;
import dev.longbow.backend.Backends;
import dev.longbow.cuda.CudaException;
import dev.longbow.tensor.Allocation;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.HostAllocation;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Tensor;
import java.util.Arrays;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A kernel fault is sticky: every later call in the context fails until the context's last
 * retain is released. Closing the backend must still release everything, so one fault is one
 * failure and the next backend on the device starts clean.
 */
@Tag("gpu")
class CudaFaultGpuTest {

    @Test
    void aStickyFaultFailsOnceAndTheNextBackendStartsClean() {
        CudaBackend faulty = (CudaBackend) Backends.open(BackendChoice.CUDA, 0);
        Allocation small = faulty.allocate(256);
        Tensor t = new Tensor(small.segment(), DType.F32, Shape.of(64), small.placement());
        // A fill that runs past its 64-element tensor: an illegal address on the GPU.
        faulty.launch(Kernels.FILL, "f32", Launch.stream(1 << 20, faulty.sms()), t, 1L << 20, 1f);
        var fault = assertThrows(CudaException.class, faulty::synchronize);
        assertTrue(fault.errorName().equals("CUDA_ERROR_ILLEGAL_ADDRESS"), fault.getMessage());
        small.close();  // back to the backend's pool, which the close below frees
        var onClose = assertThrows(CudaException.class, faulty::close, "close reports the fault, after releasing everything");
        assertTrue(onClose.errorName().equals("CUDA_ERROR_ILLEGAL_ADDRESS"), onClose.getMessage());

        try (Backend fresh = Backends.open(BackendChoice.CUDA, 0); HostAllocation host = new HostAllocation(64 * 4)) {
            Allocation memory = fresh.allocate(256);
            Tensor x = new Tensor(memory.segment(), DType.F32, Shape.of(64), memory.placement());
            Tensor back = HostAllocation.tensor(host, DType.F32, 64);
            fresh.tensors().fill(x, 2.5f);
            fresh.tensors().copy(x, back);
            fresh.synchronize();
            float[] expected = new float[64];
            Arrays.fill(expected, 2.5f);
            assertArrayEquals(expected, back.data().toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT));
            memory.close();
        }
    }
}
