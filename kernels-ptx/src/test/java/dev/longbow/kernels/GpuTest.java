package dev.longbow.kernels;

import dev.longbow.backend.BackendChoice;
import dev.longbow.backend.Backend;
import dev.longbow.backend.Backends;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import dev.longbow.testing.HostTensors;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestInfo;

/**
 * Base of the GPU tests: one "cuda" backend per class on device 0, fresh guarded device tensors
 * and a printed seed per test, and a check after each test that no kernel wrote outside its
 * tensors. Run with {@code ./mvnw -Pgpu verify} on a machine with a GPU.
 */
@Tag("gpu")
abstract class GpuTest {
    static Backend backend;
    DeviceTensors dev;
    Random random;

    @BeforeAll
    static void openBackend() {
        backend = Backends.open(BackendChoice.CUDA, 0);
    }

    @AfterAll
    static void closeBackend() {
        backend.close();
    }

    @BeforeEach
    void freshTensors(TestInfo test) {
        dev = new DeviceTensors(backend);
        random = new Random(HostTensors.seed(getClass().getSimpleName() + "." + test.getDisplayName()));
    }

    @AfterEach
    void guardsIntact() {
        try {
            dev.assertGuardsIntact();
        } finally {
            dev.close();
        }
    }

    /** Standard normal host values, rounded to dtype. */
    Tensor randomHost(DType dtype, long... dims) {
        return dev.host().random(dtype, random, dims);
    }

    /** A device tensor of standard normal values and the float64 copy of what it holds. */
    Tensor randomDevice(DType dtype, long... dims) {
        return dev.upload(randomHost(dtype, dims));
    }

    static double[] values(Tensor host) {
        return HostTensors.toDoubles(host);
    }
}
