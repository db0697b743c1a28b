package dev.longbow.cuda;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

/** What the GPU tests share: a seeded source of floats that prints its seed. */
final class GpuTestSupport {
    private GpuTestSupport() {
    }

    /** Fills {@code memory} with floats in [-1, 1) from a printed seed. */
    static void fillRandom(MemorySegment memory, long seed, String what) {
        System.out.println(what + ": seed " + seed);
        Random random = new Random(seed);
        for (long i = 0; i < memory.byteSize() / 4; i++) {
            memory.setAtIndex(ValueLayout.JAVA_FLOAT, i, random.nextFloat() * 2 - 1);
        }
    }

    /** Opens device 0's primary context and makes it current on the test thread. */
    static Context currentContext() {
        Context context = Context.primary(0).makeCurrent();
        System.out.println(context.properties() + ", driver CUDA " + Cuda.driverVersion() + ", " + Cuda.init());
        return context;
    }

    /** Closes what {@code @BeforeAll} managed to open, in order; skips what it did not. */
    static void closeAll(AutoCloseable... resources) throws Exception {
        for (AutoCloseable resource : resources) {
            if (resource != null) {
                resource.close();
            }
        }
    }
}
