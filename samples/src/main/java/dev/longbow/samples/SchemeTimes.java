package dev.longbow.samples;

import dev.longbow.backend.BackendChoice;
import dev.longbow.comm.CommunicatorChoice;
import dev.longbow.parallel.AttentionShape;
import dev.longbow.parallel.Scheme;

/**
 * The scheme samples' driver as a library, for harnesses that time many runs in one JVM (the
 * planner's CPU check): the same ranks, inputs and timing as the samples, without their report.
 */
public final class SchemeTimes {
    private SchemeTimes() {
    }

    /**
     * Runs {@code scheme} on {@code ranks} CPU ranks for {@code shape}, one warm-up and
     * {@code iterations} timed passes on inputs of seed 1, and returns the slowest rank's forward
     * ([0]) and backward ([1]) nanoseconds per timed iteration.
     */
    public static long[][] slowestRank(Scheme scheme, int ranks, AttentionShape shape, int iterations) {
        return SchemeSample.time(new SampleOptions(scheme, ranks, shape, BackendChoice.CPU, CommunicatorChoice.DEFAULT, iterations, 1, false));
    }
}
