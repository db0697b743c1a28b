package dev.longbow.data;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/** Whether bytes are text a tokenizer should see: UTF-8 without NUL bytes. Says where they are not. */
final class TextCheck {
    private TextCheck() {
    }

    /**
     * Why {@code bytes[0, length)} are not UTF-8 text, or null when they are. With {@code complete}
     * false they may end inside a character (a prefix of a longer file).
     */
    static String problem(byte[] bytes, int length, boolean complete) {
        for (int i = 0; i < length; i++) {
            if (bytes[i] == 0) {
                return "a NUL byte at offset " + i + ": binary data, not text";
            }
        }
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes, 0, length);
        CharBuffer out = CharBuffer.allocate(8192);
        while (true) {
            CoderResult r = decoder.decode(in, out, complete);
            if (r.isError()) {
                int at = in.position();
                return "byte 0x" + HexFormat.of().withUpperCase().toHexDigits(bytes[at]) + " at offset " + at
                        + " is not UTF-8 (Latin-1 or another legacy encoding?)";
            }
            if (r.isUnderflow()) {
                return null;
            }
            out.clear();
        }
    }
}
