package dev.longbow.samples;

import dev.longbow.parallel.AttentionShape;
import dev.longbow.parallel.Scheme;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;

/**
 * What one sample runs: a scheme on a number of ranks of a backend, for an attention shape, timed
 * over some iterations of seeded random inputs, checked or not against single-device attention.
 */
record SampleOptions(Scheme scheme, int ranks, AttentionShape shape, String backend, int iterations, long seed, boolean check) {

    /**
     * The options of {@code longbow sample SCHEME ARGS...}, checked. A mistake throws
     * {@link IllegalArgumentException} naming it.
     */
    static SampleOptions parse(String scheme, String... args) {
        List<String> all = new ArrayList<>(List.of(scheme));
        all.addAll(List.of(args));
        CommandLine cli = SampleCommand.commandLine();
        try {
            cli.parseArgs(all.toArray(String[]::new));
        } catch (CommandLine.ParameterException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        return cli.<SampleCommand>getCommand().options();
    }
}
