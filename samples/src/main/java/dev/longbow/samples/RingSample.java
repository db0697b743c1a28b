package dev.longbow.samples;

/** Ring attention on N ranks: see {@link SampleCommand} for the options, {@code --help} to list them. */
public final class RingSample {
    private RingSample() {
    }

    public static void main(String[] args) {
        SchemeSample.main("ring", args);
    }
}
