package dev.longbow.samples;

import java.util.List;

/** The scheme samples by name, for the {@code longbow sample} command. */
public final class Samples {
    public static final List<String> SCHEMES = List.of("ulysses", "ring", "wallfacer", "fpdt", "hybrid");

    private Samples() {
    }

    /**
     * Runs scheme {@code scheme}'s sample with its command line {@code args}; returns whether its
     * check passed. Bad options throw {@link IllegalArgumentException} naming the fix.
     */
    public static boolean run(String scheme, String[] args) {
        if (!SCHEMES.contains(scheme)) {
            throw new IllegalArgumentException("unknown scheme '" + scheme + "'; choose ulysses, ring, wallfacer, fpdt or hybrid");
        }
        return SchemeSample.run(scheme, args);
    }
}
