package dev.longbow.data;

import dev.longbow.checkpoint.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The tokenizer.json reader against two references: Hugging Face's tokenizers.js (the expected ids
 * in {@code tokenizers/expected-*.json}, made by {@code make-fixtures.sh}), and jtokkit for the
 * tokenizer.json that Longbow writes for each tiktoken encoding.
 */
class TokenizerJsonTest {

    @ParameterizedTest
    @ValueSource(strings = {"tiny-gpt2", "tiny-llama3"})
    void committedTokenizersEncodeAsTheReferenceDoes(String name) throws Exception {
        ByteLevelBpe tok = ByteLevelBpe.read(fixture(name + ".json"));
        List<int[]> expected = expectedIds(name, null);
        List<String> corpus = corpus();
        assertEquals(expected.size(), corpus.size());
        for (int i = 0; i < corpus.size(); i++) {
            assertArrayEquals(expected.get(i), tok.encode(corpus.get(i)), "document " + i + ": " + corpus.get(i));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"r50k", "cl100k", "o200k"})
    void tiktokenExportsEncodeAsTheReferenceAndAsJtokkit(String name) throws Exception {
        Tokenizer tiktoken = Tokenizer.named(name);
        String json = tiktoken.toTokenizerJson();
        List<int[]> expected = expectedIds(name, sha256(json.getBytes(StandardCharsets.UTF_8)));
        ByteLevelBpe hf = ByteLevelBpe.parse((Map<?, ?>) Json.parse(json), json, name, null);
        assertEquals(tiktoken.endOfText(), hf.endOfText());
        List<String> corpus = corpus();
        for (int i = 0; i < corpus.size(); i++) {
            String text = corpus.get(i);
            assertArrayEquals(expected.get(i), hf.encode(text), "reference, document " + i + ": " + text);
            if (!text.contains("<|")) {   // jtokkit encodes special tokens as text (encodeOrdinary), the reference does not
                assertArrayEquals(tiktoken.encode(text), hf.encode(text), "jtokkit, document " + i);
            }
        }
    }

    /** Real text in volume: the JDK's own sources, where the running JDK ships them. */
    @Test
    void theR50kExportMatchesJtokkitOnJdkSources() throws IOException {
        Path src = Path.of(System.getProperty("java.home"), "lib", "src.zip");
        assumeTrue(Files.isRegularFile(src), "this JDK has no lib/src.zip");
        Tokenizer tiktoken = Tokenizer.named("r50k");
        String json = tiktoken.toTokenizerJson();
        ByteLevelBpe hf = ByteLevelBpe.parse((Map<?, ?>) Json.parse(json), json, "r50k", null);
        long tokens = 0;
        try (ZipFile zip = new ZipFile(src.toFile())) {
            List<? extends ZipEntry> entries = zip.stream().filter(e -> e.getName().endsWith(".java")).toList();
            for (int i = 0; i < entries.size(); i += entries.size() / 60) {
                try (InputStream in = zip.getInputStream(entries.get(i))) {
                    String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                    int[] ids = hf.encode(text);
                    assertArrayEquals(tiktoken.encode(text), ids, entries.get(i).getName());
                    assertEquals(text, hf.decode(ids));
                    tokens += ids.length;
                }
            }
        }
        assertTrue(tokens > 50_000, "only " + tokens + " tokens compared");
    }

    @Test
    void decodingGivesBackTheTextAsNormalized() throws Exception {
        ByteLevelBpe gpt2 = ByteLevelBpe.read(fixture("tiny-gpt2.json"));
        ByteLevelBpe nfkc = ByteLevelBpe.read(fixture("tiny-llama3.json"));
        for (String text : corpus()) {
            assertEquals(text, gpt2.decode(gpt2.encode(text)));
            assertEquals(Normalizer.normalize(text, Normalizer.Form.NFKC), nfkc.decode(nfkc.encode(text)));
        }
        assertEquals(gpt2.vocabSize() - 3, gpt2.endOfText());   // the first added token
        assertEquals("<|endoftext|>", gpt2.endOfTextToken());
    }

    @Test
    void aFolderWithATokenizerConfigNamesItsEndOfText(@TempDir Path dir) throws Exception {
        Files.copy(fixture("tiny-gpt2.json"), dir.resolve("tokenizer.json"));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": {\"content\": \"<|begin_of_text|>\"}}");
        Tokenizer tok = Tokenizer.open(dir.toString());
        assertEquals("<|begin_of_text|>", tok.endOfTextToken());
        assertEquals(tok.vocabSize() - 1, tok.endOfText());
    }

    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
            "\"type\": \"BPE\";\"type\": \"WordPiece\";\"type\" is \"WordPiece\": only byte-level BPE models are read",
            "\"byte_fallback\": false;\"byte_fallback\": true;byte fallback belongs to SentencePiece-style BPE",
            "\"lstrip\": false;\"lstrip\": true;sets lstrip, which Longbow does not implement",
            "\"type\": \"NFKC\";\"type\": \"Lowercase\";normalizer {\"type\":\"Lowercase\"} is not supported",
            "\"behavior\": \"Isolated\";\"behavior\": \"Removed\";Split pre-tokenizer with behavior \"Removed\"",
            "\"type\": \"Split\";\"type\": \"Digits\";is not supported: byte-level BPE ends in ByteLevel",
            "\"content\": \"<|endoftext|>\";\"content\": \"<|end|>\";it has no end-of-text token"})
    void whatIsNotByteLevelBpeIsRefusedNamingTheField(String from, String to, String message, @TempDir Path dir) throws Exception {
        String json = Files.readString(fixture("tiny-llama3.json")).replace(from, to);
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, json);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizer.open(file.toString()));
        assertTrue(e.getMessage().startsWith("tokenizer " + file.toAbsolutePath()), e.getMessage());
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    @Test
    void anUnknownNameOrMissingFileSaysWhatToPass() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Tokenizer.open("gpt9")).getMessage()
                .contains("choose one of [cl100k, o200k, p50k, r50k] or pass the path of a tokenizer.json"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Tokenizer.open("/no/such/tokenizer.json")).getMessage()
                .contains("no such file or folder"));
    }

    static Path fixture(String name) throws URISyntaxException {
        return Path.of(TokenizerJsonTest.class.getResource("tokenizers/" + name).toURI());
    }

    static List<String> corpus() throws Exception {
        List<String> texts = new ArrayList<>();
        for (String line : Files.readAllLines(fixture("corpus.jsonl"), StandardCharsets.UTF_8)) {
            texts.add((String) ((Map<?, ?>) Json.parse(line)).get("text"));
        }
        return texts;
    }

    /** The reference's ids; with {@code sha256}, checks they were made with that very tokenizer.json. */
    private static List<int[]> expectedIds(String name, String sha256) throws Exception {
        Map<?, ?> expected = (Map<?, ?>) Json.parse(Files.readString(fixture("expected-" + name + ".json")));
        if (sha256 != null) {
            assertEquals(expected.get("tokenizer_sha256"), sha256, "Longbow's " + name + " tokenizer.json is not the one the "
                    + "expected ids were made with: rerun make-fixtures.sh if the export changed on purpose");
        }
        List<int[]> ids = new ArrayList<>();
        for (Object doc : (List<?>) expected.get("ids")) {
            ids.add(((List<?>) doc).stream().mapToInt(o -> ((Number) o).intValue()).toArray());
        }
        return ids;
    }

    private static String sha256(byte[] bytes) throws NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
