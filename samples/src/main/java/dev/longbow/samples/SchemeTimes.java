package dev.longbow.samples;

/**
 * The scheme samples' driver as a library, for harnesses that time many runs in one JVM (the
 * planner's CPU check): the same ranks, inputs and timing as the samples, without their report.
 */
public final class SchemeTimes {
    private SchemeTimes() {
    }

    /**
     * Runs {@code scheme} ("ulysses", "ring", "hybrid", "wallfacer", "fpdt") with a sample's
     * command-line {@code args} and returns the slowest rank's forward ([0]) and backward ([1])
     * nanoseconds per timed iteration.
     */
    public static long[][] slowestRank(String scheme, String... args) {
        return SchemeSample.time(SampleOptions.parse(scheme, args));
    }
}
