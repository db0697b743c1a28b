package dev.longbow.launch;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The shared secret of a job and the HMAC-SHA256 proofs built from it. The token never crosses
 * the wire: each side proves it knows the token by a MAC over both sides' fresh nonces, so a
 * recorded exchange cannot be replayed and a stranger learns nothing from a failed one.
 */
final class RendezvousAuth {
    static final String TOKEN_VARIABLE = "LONGBOW_RENDEZVOUS_TOKEN";
    static final int NONCE_BYTES = 32;
    static final int MAC_BYTES = 32;
    private static final int MIN_TOKEN_CHARS = 8;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final SecretKeySpec key;

    RendezvousAuth(byte[] token) {
        this.key = new SecretKeySpec(token, "HmacSHA256");
    }

    /** The token from {@value #TOKEN_VARIABLE}, or a message saying how to set it. */
    static byte[] tokenFrom(Map<String, String> env) {
        String token = env.get(TOKEN_VARIABLE);
        if (token == null || token.length() < MIN_TOKEN_CHARS) {
            throw new RendezvousException(TOKEN_VARIABLE + (token == null ? " is not set" : " has fewer than " + MIN_TOKEN_CHARS + " characters")
                    + ": every process of a multi-process job needs the same secret, e.g. "
                    + "export " + TOKEN_VARIABLE + "=$(openssl rand -hex 16) before starting the job");
        }
        return token.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] nonce() {
        byte[] n = new byte[NONCE_BYTES];
        RANDOM.nextBytes(n);
        return n;
    }

    /** What a joiner sends to prove it holds the token, bound to its claimed rank and world. */
    byte[] joinProof(byte[] serverNonce, byte[] clientNonce, int rank, int processCount) {
        return mac("join", serverNonce, clientNonce, ByteBuffer.allocate(8).putInt(rank).putInt(processCount).array());
    }

    /** What the master sends with the id, so a joiner knows the id came from a holder of the token. */
    byte[] idProof(byte[] serverNonce, byte[] clientNonce, byte[] id) {
        return mac("id", clientNonce, serverNonce, id);
    }

    static boolean matches(byte[] expected, byte[] actual) {
        return MessageDigest.isEqual(expected, actual);
    }

    private byte[] mac(String purpose, byte[]... parts) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            mac.update(purpose.getBytes(StandardCharsets.US_ASCII));
            for (byte[] part : parts) {
                mac.update(part);
            }
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }
}
