package dev.longbow.launch;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;

/**
 * One process of the multi-process rendezvous test: joins with whatever the environment says and
 * prints {@code ID <hex>} or {@code FAILED <message>}. The master's id is 128 random bytes, the
 * size of an NCCL unique id.
 */
public final class RendezvousProbe {
    static final String TIMEOUT_VARIABLE = "PROBE_TIMEOUT_MS";

    public static void main(String[] args) {
        try {
            RankEnvironment where = RankEnvironment.from(System.getenv(), 1);
            Duration timeout = Duration.ofMillis(Long.parseLong(System.getenv(TIMEOUT_VARIABLE)));
            byte[] id = Rendezvous.exchange(where, System.getenv(), RendezvousProbe::randomId, timeout);
            System.out.println("ID " + HexFormat.of().formatHex(id));
            System.exit(0);
        } catch (RuntimeException e) {
            System.out.println("FAILED " + e.getMessage());
            System.exit(2);
        }
    }

    private static byte[] randomId() {
        byte[] id = new byte[128];
        new SecureRandom().nextBytes(id);
        return id;
    }
}
