package dev.longbow.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Real processes on loopback: separate JVMs join through the rendezvous exactly as the nodes of a
 * job would. Every failure must end every JVM with its own message; none may be left running.
 */
class RendezvousProcessesTest {
    private static final String TOKEN = "a-test-token-0123456789";
    private static final Duration MASTER_TIMEOUT = Duration.ofSeconds(4);
    /** A probe exits within the master's timeout, the joiners' grace and a JVM start-up. */
    private static final Duration PROBE_LIMIT = MASTER_TIMEOUT.plus(Rendezvous.JOINER_GRACE).plusSeconds(30);

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void fourJvmsAgreeOnOneId() throws Exception {
        try (ProbeJvms jvms = new ProbeJvms(4, freePort(), TOKEN, Duration.ofSeconds(60))) {
            // joiners first: they must wait for a master that is not up yet
            List<Process> ps = new ArrayList<>(List.of(jvms.start(3), jvms.start(1)));
            ps.add(jvms.start(0));
            ps.add(jvms.start(2));
            List<String> results = new ArrayList<>();
            for (Process p : ps) {
                results.add(jvms.result(p, Duration.ofSeconds(90)));
            }
            String first = results.getFirst();
            assertTrue(first.matches("ID [0-9a-f]{256}"), "a 128-byte id: " + first);
            results.forEach(r -> assertEquals(first, r));
            assertFalse(jvms.anyAlive());
        }
    }

    @Test
    void aWrongTokenIsRefusedAndTheMasterNamesTheRankItLacks() throws Exception {
        try (ProbeJvms jvms = new ProbeJvms(2, freePort(), TOKEN, MASTER_TIMEOUT)) {
            Process master = jvms.start(0);
            Process stranger = jvms.start(1, Map.of(RendezvousAuth.TOKEN_VARIABLE, "not-the-job-token"));
            String refused = jvms.result(stranger, PROBE_LIMIT);
            assertTrue(refused.startsWith("FAILED rank 1 was refused: authentication failed"), refused);
            String masterResult = jvms.result(master, PROBE_LIMIT);
            assertTrue(masterResult.contains("timed out") && masterResult.contains("missing ranks [1] of 2"), masterResult);
            assertTrue(masterResult.contains("authentication failed"), "the master's verdict lists the refusal: " + masterResult);
            assertFalse(jvms.anyAlive());
        }
    }

    @Test
    void aDuplicateRankIsRefused() throws Exception {
        try (ProbeJvms jvms = new ProbeJvms(3, freePort(), TOKEN, MASTER_TIMEOUT)) {
            Process master = jvms.start(0);
            Process a = jvms.start(1);
            Process b = jvms.start(1);
            String ra = jvms.result(a, PROBE_LIMIT);
            String rb = jvms.result(b, PROBE_LIMIT);
            String refusal = "FAILED rank 1 was refused: duplicate rank 1: it already joined from";
            String duplicate = ra.startsWith(refusal) ? ra : rb;
            String other = ra.startsWith(refusal) ? rb : ra;
            assertTrue(duplicate.startsWith(refusal), duplicate);
            assertTrue(other.contains("missing ranks [2] of 3"), "the first rank 1 hears the master's timeout: " + other);
            assertTrue(jvms.result(master, PROBE_LIMIT).contains("missing ranks [2] of 3"));
            assertFalse(jvms.anyAlive());
        }
    }

    @Test
    void aRankOutOfRangeFailsBeforeItConnects() throws Exception {
        try (ProbeJvms jvms = new ProbeJvms(4, freePort(), TOKEN, MASTER_TIMEOUT)) {
            String result = jvms.result(jvms.start(4), PROBE_LIMIT);
            assertEquals("FAILED process rank 4 out of range [0, 4) (RANK/WORLD_SIZE variables)", result);
            assertFalse(jvms.anyAlive());
        }
    }

    @Test
    void aMissingRankTimesOutOnEveryProcessWithItsNumber() throws Exception {
        try (ProbeJvms jvms = new ProbeJvms(4, freePort(), TOKEN, MASTER_TIMEOUT)) {
            List<Process> present = List.of(jvms.start(0), jvms.start(1), jvms.start(3));
            for (Process p : present) {
                String result = jvms.result(p, PROBE_LIMIT);
                assertTrue(result.startsWith("FAILED") && result.contains("timed out after 4 s: missing ranks [2] of 4 processes"), result);
            }
            assertFalse(jvms.anyAlive());
        }
    }
}
