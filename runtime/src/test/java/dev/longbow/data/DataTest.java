package dev.longbow.data;

import dev.longbow.parallel.SequenceLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tokenised text, packing, resuming, sharding and the passkey task. */
class DataTest {
    private static final Tokenizer R50K = Tokenizer.named("r50k");

    @Test
    void tokenizerRoundTripsAndKnowsGpt2Ids() {
        // GPT-2's vocabulary: "Hello" is 15496 and " world" is 995 (tiktoken r50k_base).
        assertArrayEquals(new int[]{15496, 995}, R50K.encode("Hello world"));
        String text = "public static void main(String[] args) { return; }";
        assertEquals(text, R50K.decode(R50K.encode(text)));
        assertEquals(50257, R50K.vocabSize());
    }

    @Test
    void longDocumentsComeFirstAsWindowsOfTheirOwnTextAndShortOnesArePacked(@TempDir Path dir) throws IOException {
        StringBuilder distinct = new StringBuilder();
        for (int i = 0; i < 300; i++) {
            distinct.append(" item").append(i).append(" of ").append(i * 7 % 13);
        }
        String longText = distinct.toString();
        Files.writeString(dir.resolve("long.txt"), longText);
        Files.writeString(dir.resolve("a.txt"), "short one");
        Files.writeString(dir.resolve("b.md"), "short two");
        Files.write(dir.resolve("binary.txt"), new byte[]{1, 0, 2});
        Files.writeString(dir.resolve("ignored.bin"), "not text by extension");
        int length = 64;
        try (TextCorpus corpus = new TextCorpus(TextDocuments.open(dir), R50K, length, 1)) {
            assertEquals(1, corpus.longDocuments());
            int[] all = R50K.encode(longText);
            TokenSequence first = corpus.next();
            int at = indexOf(all, first.tokens());
            assertTrue(at >= 0, "the first window is a stretch of the long document");
            assertArrayEquals(Arrays.copyOfRange(all, at + 1, at + 1 + length), first.targets(), "targets are the next tokens");
            DataPosition mark = corpus.position();
            TokenSequence second = corpus.next();
            assertEquals(at + length + 1, indexOf(all, second.tokens()), "consecutive windows");
            corpus.seek(mark);
            assertArrayEquals(second.tokens(), corpus.next().tokens(), "seek replays from the position");
            // Past the long document's windows come the short documents, packed with end-of-text between them.
            boolean sawPacking = false;
            for (int i = 0; i < 20 && !sawPacking; i++) {
                TokenSequence s = corpus.next();
                sawPacking = Arrays.stream(s.tokens()).filter(t -> t == R50K.endOfText()).count() >= 2;
            }
            assertTrue(sawPacking, "short documents are packed, separated by end-of-text");
        }
    }

    @Test
    void theJdkSourcesAreTheDefaultCorpus() throws IOException {
        try (TextCorpus corpus = new TextCorpus(TextDocuments.open(TextDocuments.jdkSources()), R50K, 512, 3)) {
            assertTrue(corpus.longDocuments() > 100, corpus.describe());
            String text = R50K.decode(corpus.next().tokens());
            assertTrue(text.contains(";") && text.length() > 1000, "real Java source: " + text.substring(0, 200));
        }
    }

    private static int indexOf(int[] haystack, int[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    @Test
    void shardsFollowTheLayout() {
        int[] tokens = {10, 11, 12, 13, 14, 15, 16, 17}, targets = {11, 12, 13, 14, 15, 16, 17, 18};
        Shard rank1 = Shard.of(tokens, targets, SequenceLayout.ZIGZAG, 1, 2);
        // Zigzag over 2 ranks: 4 chunks of 2; rank 1 holds chunks 1 and 2, positions 2, 3, 4, 5.
        assertArrayEquals(new int[]{2, 3, 4, 5}, rank1.positions());
        assertArrayEquals(new int[]{12, 13, 14, 15}, rank1.tokens());
        assertArrayEquals(new int[]{13, 14, 15, 16}, rank1.targets());
    }

    @Test
    void passkeyAsksForTheKeyStatedOnAnotherRank() {
        int length = 256, ranks = 4;
        PasskeyTask task = new PasskeyTask(R50K, length, 5, SequenceLayout.ZIGZAG, ranks, true);
        PasskeyTask training = new PasskeyTask(R50K, length, 5, SequenceLayout.ZIGZAG, ranks, false);
        TokenSequence lm = training.next();
        assertTrue(java.util.Arrays.stream(lm.targets()).allMatch(t -> t >= 0 && t < training.vocabSize()), "training targets everywhere");
        assertTrue(training.vocabSize() < 60, "a dense vocabulary of the task's few tokens: " + training.vocabSize());
        for (int n = 0; n < 20; n++) {
            TokenSequence s = task.next();
            int[] answerRows = java.util.stream.IntStream.range(0, length).filter(i -> s.targets()[i] >= 0).toArray();
            assertEquals(PasskeyTask.DIGITS, answerRows.length);
            String key = task.decode(Arrays.stream(answerRows).map(i -> s.targets()[i]).toArray());
            String text = task.decode(s.tokens());
            assertTrue(text.contains("The pass key is" + key + ". Remember it."), text);
            assertTrue(text.endsWith("What is the pass key? The pass key is" + key), text);
            int[] intro = R50K.encode(" The pass key is");
            int firstDigit = indexOf(Arrays.stream(s.tokens()).map(t -> R50K.encode(task.decode(new int[]{t}))[0]).toArray(), intro)
                    + intro.length;
            for (int d = 0; d < PasskeyTask.DIGITS; d++) {
                int keyRank = owner(firstDigit + d, length, ranks), answerRank = owner(answerRows[d], length, ranks);
                assertNotEquals(answerRank, keyRank, "key digit " + d + " on rank " + keyRank + ", answer on rank " + answerRank);
            }
        }
    }

    private static int owner(int position, int length, int ranks) {
        for (int r = 0; r < ranks; r++) {
            for (int i = 0; i < length / ranks; i++) {
                if (SequenceLayout.ZIGZAG.globalPosition(r, ranks, length, i) == position) {
                    return r;
                }
            }
        }
        throw new AssertionError(position);
    }
}
