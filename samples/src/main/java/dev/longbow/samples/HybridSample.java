package dev.longbow.samples;

/** Hybrid attention on N ranks: see {@link SampleCommand} for the options, {@code --help} to list them. */
public final class HybridSample {
    private HybridSample() {
    }

    public static void main(String[] args) {
        SchemeSample.main("hybrid", args);
    }
}
