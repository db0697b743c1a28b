package dev.longbow.kernels;

import dev.longbow.cuda.Event;
import dev.longbow.cuda.Stream;
import java.util.Arrays;

/** The GPU benchmarks' timer: CUDA events around each run on the stream the work is launched on. */
final class EventTiming {
    private EventTiming() {
    }

    /** Median milliseconds of {@code runs} runs of {@code work} on {@code stream}, after {@code warmup} untimed ones. */
    static double medianMillis(Stream stream, int warmup, int runs, Runnable work) {
        for (int i = 0; i < warmup; i++) {
            work.run();
        }
        double[] ms = new double[runs];
        try (Event start = Event.create(); Event end = Event.create()) {
            for (int i = 0; i < runs; i++) {
                start.record(stream);
                work.run();
                end.record(stream);
                end.synchronize();
                ms[i] = Event.elapsedMillis(start, end);
            }
        }
        Arrays.sort(ms);
        return ms[runs / 2];
    }
}
