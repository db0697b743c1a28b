package dev.longbow.samples.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code longbow sample}: the scheme's options reach its sample; they are train's options; an
 * unknown scheme is refused.
 */
class SampleCommandTest {

    @Test
    void theSampleGetsItsOptionsAndPassesItsCheck() {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = Longbow.commandLine().execute("sample", "hybrid", "--ranks", "4", "--ulysses-degree", "2",
                    "--seq-len", "256", "--heads", "4", "--head-dim", "16", "--iterations", "0", "--seed", "5");
        } finally {
            System.setOut(stdout);
        }
        String out = captured.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, out);
        assertTrue(out.contains("hybrid on 4 cpu ranks: S=256 Hq=4"), out);
        assertTrue(out.contains("seed 5") && out.contains("): OK"), out);
    }

    /** One block of scheme options for train and sample: the same names, descriptions and defaults in both. */
    @Test
    void trainAndSampleTakeTheSameSchemeOptions() {
        CommandLine cli = Longbow.commandLine();
        CommandSpec train = cli.getSubcommands().get("train").getCommandSpec();
        CommandSpec sample = cli.getSubcommands().get("sample").getCommandSpec();
        for (String name : List.of("--team-size", "--arrangement", "--chunk-size", "--ulysses-degree")) {
            OptionSpec inTrain = train.findOption(name);
            OptionSpec inSample = sample.findOption(name);
            assertEquals(List.of(inTrain.description()), List.of(inSample.description()), name);
            assertEquals(inTrain.defaultValue(), inSample.defaultValue(), name);
        }
        List<String> trainNames = new ArrayList<>();
        List<String> sampleNames = new ArrayList<>();
        train.findOption("--scheme").completionCandidates().forEach(trainNames::add);
        sample.positionalParameters().getFirst().completionCandidates().forEach(sampleNames::add);
        assertEquals(List.of("ulysses", "ring", "wallfacer", "fpdt", "hybrid"), trainNames);
        assertEquals(trainNames, sampleNames);
    }

    /** The sample's help lists its options and exits 0; an option may take its value after '='. */
    @Test
    void theSampleHasHelpAndTakesOptionEqualsValue() {
        StringWriter out = new StringWriter();
        PrintWriter writer = new PrintWriter(out);
        CommandLine cli = Longbow.commandLine();
        cli.setOut(writer);
        assertEquals(0, cli.execute("sample", "--help"));
        writer.flush();
        assertTrue(out.toString().contains("--ulysses-degree=U") && out.toString().contains("ulysses, ring, wallfacer, fpdt, hybrid"),
                out.toString());

        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = Longbow.commandLine().execute("sample", "ring", "--ranks=2", "--seq-len=64", "--heads=2", "--head-dim=16",
                    "--iterations=0", "--seed=3");
        } finally {
            System.setOut(stdout);
        }
        assertEquals(0, code, captured.toString(StandardCharsets.UTF_8));
        assertTrue(captured.toString(StandardCharsets.UTF_8).contains("ring on 2 cpu ranks: S=64 Hq=2"), captured.toString(StandardCharsets.UTF_8));
    }

    @Test
    void anUnknownSchemeNamesTheChoices() {
        StringWriter err = new StringWriter();
        CommandLine cli = Longbow.commandLine();
        cli.setErr(new PrintWriter(err));
        assertEquals(2, cli.execute("sample", "sideways"));
        assertTrue(err.toString().contains("unknown scheme 'sideways'; choose one of [ulysses, ring, wallfacer, fpdt, hybrid]"), err.toString());
    }
}
