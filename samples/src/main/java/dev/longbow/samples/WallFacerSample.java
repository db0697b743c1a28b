package dev.longbow.samples;

/** WallFacer attention on N ranks: see {@link SampleCommand} for the options, {@code --help} to list them. */
public final class WallFacerSample {
    private WallFacerSample() {
    }

    public static void main(String[] args) {
        SchemeSample.main("wallfacer", args);
    }
}
