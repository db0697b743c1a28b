package dev.longbow.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.comm.CommunicatorChoice;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The samples' {@code --communicator} and {@code --gpus}: parsed into a choice, refused before any work when it cannot serve. */
class SampleCommunicatorTest {

    @Test
    void theOptionsBecomeACommunicatorChoice() {
        SampleOptions o = SampleOptions.parse("ring", new String[] {"--backend", "cuda", "--communicator", "device", "--gpus", "0,1"});
        assertEquals(new CommunicatorChoice("device", List.of(0, 1)), o.communicator());
        assertEquals(CommunicatorChoice.DEFAULT, SampleOptions.parse("ring", new String[0]).communicator());
    }

    @Test
    void aCommunicatorThatCannotServeTheBackendIsRefusedNamingTheFix() {
        var wrongBackend = assertThrows(IllegalArgumentException.class,
                () -> SchemeSample.run(SampleOptions.parse("ring", new String[] {"--communicator", "device", "--seq-len", "64"})));
        assertEquals("communicator 'device' does not move the memory of backend 'cpu'; for 'cpu' choose one of [local]",
                wrongBackend.getMessage());
        var noCommunicator = assertThrows(IllegalArgumentException.class,
                () -> SampleOptions.parse("ring", new String[] {"--gpus", "1"}));
        assertTrue(noCommunicator.getMessage().startsWith("--gpus 1 needs --communicator device"), noCommunicator.getMessage());
    }
}
