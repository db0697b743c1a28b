package dev.longbow.samples;

/** Fpdt attention on N ranks: see {@link SampleCommand} for the options, {@code --help} to list them. */
public final class FpdtSample {
    private FpdtSample() {
    }

    public static void main(String[] args) {
        SchemeSample.main("fpdt", args);
    }
}
