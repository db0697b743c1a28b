package dev.longbow.data;

import java.io.ByteArrayOutputStream;

/**
 * GPT-2's byte-level alphabet: each of the 256 byte values as one printable character (printable
 * Latin-1 bytes stand for themselves, the others for the characters from U+0100 on), so a BPE
 * vocabulary over bytes can be written as JSON strings. The space byte is 'Ġ' (U+0120).
 */
final class ByteLevelChars {
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[512];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = (char) (printable ? b : next++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    private ByteLevelChars() {
    }

    static String toText(byte[] bytes) {
        return toText(bytes, 0, bytes.length);
    }

    static String toText(byte[] bytes, int from, int to) {
        char[] out = new char[to - from];
        for (int i = from; i < to; i++) {
            out[i - from] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        }
        return new String(out);
    }

    /** The bytes a byte-level token stands for; -1 entries never occur for a valid token. */
    static void appendBytes(String token, ByteArrayOutputStream out) {
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b < 0) {
                throw new IllegalArgumentException("token '" + token + "' holds '" + c + "', which is not a byte-level character");
            }
            out.write(b);
        }
    }
}
