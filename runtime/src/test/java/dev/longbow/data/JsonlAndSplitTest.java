package dev.longbow.data;

import dev.longbow.checkpoint.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** JSONL documents (the field's text only, in parts), and the seeded held-out split by document. */
class JsonlAndSplitTest {
    private static final Tokenizer R50K = Tokenizer.named("r50k");

    private static List<String> all(TextDocuments docs) {
        List<String> texts = new ArrayList<>();
        docs.documents().forEach(d -> texts.addAll(docs.texts(d)));
        return texts;
    }

    private static Path jsonl(Path file, int lines, String field) throws IOException {
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (int i = 0; i < lines; i++) {
                w.write(Json.write(Map.of("id", i, field, "document " + i + " says \"hi\"\nover two lines " + "x".repeat(i % 50))) + "\n");
            }
        }
        return file;
    }

    @Test
    void jsonlLinesAreDocumentsOfTheirFieldNeverTheJsonAroundIt(@TempDir Path dir) throws IOException {
        Path file = jsonl(dir.resolve("data.jsonl"), 30, "body");
        try (TextDocuments docs = TextDocuments.open(file, "body", null)) {
            List<String> texts = all(docs);
            assertEquals(30, texts.size());
            assertEquals("document 7 says \"hi\"\nover two lines xxxxxxx", texts.get(7));
            TextCorpus corpus = new TextCorpus(docs, R50K, 64, 1);
            for (int i = 0; i < 20; i++) {
                String decoded = R50K.decode(corpus.next().tokens());
                assertFalse(decoded.contains("\"body\"") || decoded.contains("{\"") || decoded.contains("\\n"), decoded);
            }
        }
    }

    /** A file far larger than one part streams in parts cut between lines: every line read once. */
    @Test
    void aLargeJsonlFileIsReadInPartsCutBetweenLines(@TempDir Path dir) throws IOException {
        Path file = jsonl(dir.resolve("big.jsonl"), 40_000, "text");
        assertTrue(Files.size(file) > 2 * TextDocuments.JSONL_PART_BYTES);
        try (TextDocuments docs = TextDocuments.open(file, "text", null)) {
            assertTrue(docs.documents().size() >= 3, docs.documents().size() + " parts");
            List<String> texts = all(docs);
            assertEquals(40_000, texts.size());
            for (int i = 0; i < texts.size(); i += 997) {
                assertTrue(texts.get(i).startsWith("document " + i + " says"), texts.get(i));
            }
        }
    }

    @Test
    void theSplitIsDisjointCompleteSeededAndNearItsFraction(@TempDir Path dir) throws IOException {
        for (int i = 0; i < 400; i++) {
            Files.writeString(dir.resolve("f" + i + ".txt"), "file " + i);
        }
        jsonl(dir.resolve("lines.jsonl"), 600, "text");
        Set<String> train = texts(dir, new HeldOutSplit(0.1, 5, false)), held = texts(dir, new HeldOutSplit(0.1, 5, true));
        Set<String> union = new HashSet<>(train);
        union.addAll(held);
        assertEquals(1000, union.size(), "every document on one side");
        assertEquals(1000, train.size() + held.size(), "no document on both");
        assertTrue(held.size() > 60 && held.size() < 140, held.size() + " held out of 1000 at 10%");
        assertTrue(held.stream().anyMatch(t -> t.startsWith("file ")) && held.stream().anyMatch(t -> t.startsWith("document ")),
                "files and JSONL lines are both split");
        assertEquals(held, texts(dir, new HeldOutSplit(0.1, 5, true)), "the same seed, the same split");
        Set<String> otherSeed = texts(dir, new HeldOutSplit(0.1, 6, true));
        assertFalse(otherSeed.equals(held));
    }

    private static Set<String> texts(Path dir, HeldOutSplit split) throws IOException {
        try (TextDocuments docs = TextDocuments.open(dir, "text", split)) {
            return new HashSet<>(all(docs));
        }
    }

    @Test
    void badJsonlIsRefusedNamingFileOffsetAndFix(@TempDir Path dir) throws IOException {
        Path noField = jsonl(dir.resolve("a.jsonl"), 3, "content");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TextDocuments.open(noField, "text", null));
        assertTrue(e.getMessage().contains("a.jsonl of file " + noField + ", line at byte 0 has no string field \"text\""), e.getMessage());
        assertTrue(e.getMessage().contains("name the field with --text-field"), e.getMessage());
        Path broken = dir.resolve("b.jsonl");
        Files.writeString(broken, "{\"text\": \"fine\"}\n{\"text\": oops}\n");
        try (TextDocuments docs = TextDocuments.open(broken, "text", null)) {
            e = assertThrows(IllegalArgumentException.class, () -> all(docs));
            assertTrue(e.getMessage().contains("line at byte 17 is not JSON"), e.getMessage());
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new HeldOutSplit(1.5, 1, true)).getMessage()
                .contains("--holdout 0.01"));
    }
}
