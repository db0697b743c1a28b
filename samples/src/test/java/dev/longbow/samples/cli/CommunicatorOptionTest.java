package dev.longbow.samples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/**
 * {@code --communicator} and {@code --gpus} of {@code longbow train} (the sample's are in
 * {@code SampleCommunicatorTest}):
 * a communicator that does not fit the backend, an unknown one, or a GPU list without the device
 * communicator stops before any work, with exit code 2 and the fix.
 */
class CommunicatorOptionTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "train --steps 1 --run-dir target/never --communicator device|communicator 'device' does not move the memory of backend 'cpu'; for 'cpu' choose one of [local]",
            "train --steps 1 --run-dir target/never --communicator gloo|unknown communicator 'gloo'",
            "train --steps 1 --run-dir target/never --gpus 0,1|--gpus 0,1 needs --communicator device",
            "train --steps 1 --run-dir target/never --communicator device --gpus 0,one|--gpus '0,one': 'one' is not a device ordinal"})
    void aCommunicatorThatCannotServeTheRunIsRefusedNamingTheFix(String args, String expected) {
        StringWriter err = new StringWriter();
        CommandLine cli = Longbow.commandLine();
        cli.setErr(new PrintWriter(err));
        int code = cli.execute(args.split(" "));
        assertEquals(2, code, err.toString());
        assertTrue(err.toString().contains(expected), "message: " + err);
    }
}
