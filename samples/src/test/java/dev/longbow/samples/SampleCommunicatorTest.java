package dev.longbow.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.comm.CommunicatorChoice;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The samples' {@code --communicator} and {@code --gpus}: parsed into a choice, refused before any work when it cannot serve. */
class SampleCommunicatorTest {

    private static SampleOptions parse(String scheme, String... args) {
        List<String> all = new ArrayList<>(List.of(scheme));
        all.addAll(List.of(args));
        CommandLine cli = SampleCommand.commandLine();
        cli.parseArgs(all.toArray(String[]::new));
        return cli.<SampleCommand>getCommand().options();
    }

    @Test
    void theOptionsBecomeACommunicatorChoice() {
        SampleOptions o = parse("ring", "--backend", "cuda", "--communicator", "device", "--gpus", "0,1");
        assertEquals(new CommunicatorChoice("device", List.of(0, 1)), o.communicator());
        assertEquals(CommunicatorChoice.DEFAULT, parse("ring").communicator());
    }

    @Test
    void aCommunicatorThatCannotServeTheBackendIsRefusedNamingTheFix() {
        var wrongBackend = assertThrows(IllegalArgumentException.class,
                () -> SchemeSample.run(parse("ring", "--communicator", "device", "--seq-len", "64")));
        assertEquals("communicator 'device' does not move the memory of backend 'cpu'; for 'cpu' choose one of [local]",
                wrongBackend.getMessage());
        var noCommunicator = assertThrows(IllegalArgumentException.class,
                () -> parse("ring", "--gpus", "1"));
        assertTrue(noCommunicator.getMessage().startsWith("--gpus 1 needs --communicator device"), noCommunicator.getMessage());
    }
}
