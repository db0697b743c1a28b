package dev.longbow.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Events: timing a stream's work, and ordering one stream after another without the host. */
@Tag("gpu")
class CudaEventGpuTest {
    private static final int N = 1 << 24;
    private static final int LAUNCHES = 100;

    private static Context context;
    private static CudaModule module;

    @BeforeAll
    static void open() {
        context = GpuTestSupport.currentContext();
        module = CudaModule.loadResource(CudaEventGpuTest.class, "saxpy.ptx");
    }

    @AfterAll
    static void close() throws Exception {
        GpuTestSupport.closeAll(module, context);
    }

    /**
     * The producer adds x = 1 to y a hundred times; the consumer copies y out after waiting on
     * the producer's event. Without the wait the copy would overtake the additions.
     */
    @Test
    void aStreamWaitsForAnotherStreamsEventAndTheEventsTimeTheWork() {
        try (Stream producer = Stream.create("producer"); Stream consumer = Stream.create("consumer");
             Event start = Event.create(); Event end = Event.create();
             DeviceBuffer x = DeviceBuffer.allocate(4L * N); DeviceBuffer y = DeviceBuffer.allocate(4L * N);
             PinnedBuffer host = PinnedBuffer.allocate(4L * N)) {
            DeviceMemory.fill(x.segment(), Float.floatToIntBits(1f), producer);
            DeviceMemory.fill(y.segment(), 0, producer);
            start.record(producer);
            for (int i = 0; i < LAUNCHES; i++) {
                module.kernel("saxpy").launch(producer, Dim3.cover(N, 256), Dim3.of(256), 0,
                        KernelArgs.of().f32(1f).pointer(x.segment()).pointer(y.segment()).i64(N));
            }
            end.record(producer).makeWait(consumer);
            y.copyToHost(host.segment(), consumer);
            consumer.synchronize();
            assertTrue(end.isDone(), "the consumer finished, so the event it waited on has happened");
            for (long i = 0; i < N; i += 4099) {
                assertEquals(LAUNCHES, host.segment().getAtIndex(ValueLayout.JAVA_FLOAT, i), "y[" + i + "]");
            }
            float millis = Event.elapsedMillis(start, end);
            double gbPerSecond = LAUNCHES * 12.0 * N / (millis * 1e6);
            System.out.printf("%d saxpy launches over %d floats: %.3f ms (%.0f GB/s)%n", LAUNCHES, N, millis, gbPerSecond);
            assertTrue(millis > 0 && millis < 10_000, millis + " ms");
        }
    }

    @Test
    void orderingEventsCannotBeTimed() {
        try (Event a = Event.createForOrdering(); Event b = Event.create()) {
            assertThrows(IllegalArgumentException.class, () -> Event.elapsedMillis(a, b));
        }
    }
}
