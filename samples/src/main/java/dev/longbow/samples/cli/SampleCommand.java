package dev.longbow.samples.cli;

import dev.longbow.samples.Samples;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Unmatched;

/**
 * {@code longbow sample SCHEME [options]}: the scheme's sample, so that the samples run from the
 * same launcher as training. The options are the sample's own ({@code --help} after the scheme).
 * Exit code 1 when the check against single-device attention fails.
 */
@Command(name = "sample",
        description = "Run one scheme's attention sample: forward and backward on N ranks, time, traffic and memory"
                + " per rank, and a check against single-device attention. Options after the scheme go to the"
                + " sample; 'longbow sample ring --help' lists them.")
public final class SampleCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "SCHEME", description = "ulysses, ring, wallfacer, fpdt or hybrid")
    String scheme;

    @Unmatched
    List<String> sampleArgs = new ArrayList<>();

    @Override
    public Integer call() {
        return Samples.run(scheme, sampleArgs.toArray(String[]::new)) ? 0 : 1;
    }
}
