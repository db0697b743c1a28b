package dev.longbow.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data files a user may hand over: empty ones, binary ones and Latin-1 ones are refused when
 * opened, saying where and what to do; a file over 2 GiB (more than one Java array holds) is
 * streamed in parts rather than refused or crashing.
 */
class DataFilesTest {
    @TempDir
    Path dir;

    @Test
    void anEmptyFileIsRefused() throws IOException {
        Path empty = Files.write(dir.resolve("empty.txt"), new byte[0]);
        var e = assertThrows(IllegalArgumentException.class, () -> TextDocuments.open(empty));
        assertEquals("file " + empty + " is empty (0 bytes of text): there is nothing to train on; pass a text file, folder or "
                + ".zip with content", e.getMessage());
    }

    @Test
    void aFolderOfEmptyFilesIsRefused() throws IOException {
        Files.write(dir.resolve("a.txt"), new byte[0]);
        Files.write(dir.resolve("b.md"), new byte[0]);
        var e = assertThrows(IllegalArgumentException.class, () -> TextDocuments.open(dir));
        assertTrue(e.getMessage().startsWith("folder " + dir + " is empty (0 bytes of text)"), e.getMessage());
    }

    @Test
    void latin1IsRefusedNamingTheByteAndTheConversion() throws IOException {
        Path latin1 = Files.write(dir.resolve("latin1.txt"), "caf\u00e9 na\u00efve".getBytes(StandardCharsets.ISO_8859_1));
        var e = assertThrows(IllegalArgumentException.class, () -> TextDocuments.open(latin1));
        assertTrue(e.getMessage().startsWith("file " + latin1 + " is not UTF-8 text: byte 0xE9 at offset 3 is not UTF-8 (Latin-1 or "
                + "another legacy encoding?); convert it to UTF-8, e.g. iconv -f latin1 -t utf-8 "), e.getMessage());
    }

    @Test
    void binaryIsRefusedNamingTheFirstNul() throws IOException {
        Path binary = Files.write(dir.resolve("weights.bin"), new byte[] {'P', 'K', 3, 4, 0, 9});
        var e = assertThrows(IllegalArgumentException.class, () -> TextDocuments.open(binary));
        assertEquals("file " + binary + " is not UTF-8 text: a NUL byte at offset 4: binary data, not text; pass a text file, a "
                + "folder of text files or a .zip of them", e.getMessage());
    }

    @Test
    void utf8CutByTheCheckedPrefixIsStillText() throws IOException {
        byte[] text = "\u00e9".repeat(600_000).getBytes(StandardCharsets.UTF_8);   // 1.2 MB of 2-byte characters
        Path file = Files.write(dir.resolve("accents.txt"), text);
        try (TextDocuments docs = TextDocuments.open(file)) {
            assertEquals(1, docs.documents().size());
        }
    }

    /** A sparse file just over 2 GiB: text over its first part (16 MiB), zeros, and text in its last 4 KiB. */
    @Test
    void aFileOver2GiBIsStreamedInParts() throws IOException {
        Path big = dir.resolve("big.txt");
        long size = (1L << 31) + 4096;
        byte[] head = "the first words ".repeat(1 << 20).getBytes(StandardCharsets.US_ASCII);
        byte[] tail = "the last words!\n".repeat(256).getBytes(StandardCharsets.US_ASCII);
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(size);
            f.write(head);
            f.seek(size - tail.length);
            f.write(tail);
        }
        try (TextDocuments docs = TextDocuments.open(big)) {
            List<TextDocuments.Document> parts = docs.documents();
            assertEquals(129, parts.size(), "128 parts of 16 MiB and the last 4 KiB");
            long next = 0;
            for (TextDocuments.Document d : parts) {
                assertEquals(next, d.offset());
                next += d.bytes();
            }
            assertEquals(size, next, "the parts cover the file exactly");
            assertEquals(new String(head, StandardCharsets.US_ASCII), docs.read(parts.getFirst()));
            assertEquals(new String(tail, StandardCharsets.US_ASCII), docs.read(parts.getLast()));
            assertNull(docs.read(parts.get(64)), "a part of zeros is binary and skipped");
        }
    }
}
