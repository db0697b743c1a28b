package dev.longbow.samples;

/** Ulysses attention on N ranks: see {@link SampleCommand} for the options, {@code --help} to list them. */
public final class UlyssesSample {
    private UlyssesSample() {
    }

    public static void main(String[] args) {
        SchemeSample.main("ulysses", args);
    }
}
