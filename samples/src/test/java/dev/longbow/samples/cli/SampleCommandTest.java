package dev.longbow.samples.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code longbow sample}: the scheme's options reach its sample in order; an unknown scheme is refused. */
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

    @Test
    void anUnknownSchemeNamesTheChoices() {
        StringWriter err = new StringWriter();
        CommandLine cli = Longbow.commandLine();
        cli.setErr(new PrintWriter(err));
        assertEquals(2, cli.execute("sample", "sideways"));
        assertTrue(err.toString().contains("unknown scheme 'sideways'; choose ulysses, ring, wallfacer, fpdt or hybrid"), err.toString());
    }
}
