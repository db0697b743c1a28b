package dev.longbow.samples.cli;

import dev.longbow.samples.FpdtSample;
import dev.longbow.samples.HybridSample;
import dev.longbow.samples.RingSample;
import dev.longbow.samples.UlyssesSample;
import dev.longbow.samples.WallFacerSample;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Unmatched;

/**
 * {@code longbow sample SCHEME [options]}: the scheme's sample main, so that the samples run from
 * the same launcher as training. The options are the sample's own ({@code --help} after the scheme).
 */
@Command(name = "sample",
        description = "Run one scheme's attention sample: forward and backward on N ranks, time, traffic and memory"
                + " per rank, and a check against single-device attention. Options after the scheme go to the"
                + " sample; 'longbow sample ring --help' lists them.")
public final class SampleCommand implements Runnable {

    @Parameters(index = "0", paramLabel = "SCHEME", description = "ulysses, ring, wallfacer, fpdt or hybrid")
    String scheme;

    @Unmatched
    List<String> sampleArgs = new ArrayList<>();

    @Override
    public void run() {
        String[] args = sampleArgs.toArray(String[]::new);
        switch (scheme) {
            case "ulysses" -> UlyssesSample.main(args);
            case "ring" -> RingSample.main(args);
            case "wallfacer" -> WallFacerSample.main(args);
            case "fpdt" -> FpdtSample.main(args);
            case "hybrid" -> HybridSample.main(args);
            default -> throw new IllegalArgumentException(
                    "unknown scheme '" + scheme + "'; choose ulysses, ring, wallfacer, fpdt or hybrid");
        }
    }
}
