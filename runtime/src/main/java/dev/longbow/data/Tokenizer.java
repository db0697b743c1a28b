package dev.longbow.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Text to token ids and back. Two kinds: the tiktoken encodings that ship inside jtokkit's jar
 * ({@link TiktokenTokenizer}: r50k, p50k, cl100k, o200k, offline), and a Hugging Face
 * {@code tokenizer.json} with a byte-level BPE model, as Llama 3 and GPT-2-family models ship
 * ({@link ByteLevelBpe}). {@link #endOfText()} separates documents.
 */
public sealed interface Tokenizer permits TiktokenTokenizer, ByteLevelBpe {

    /** "r50k" (GPT-2's, the default), "p50k", "cl100k" or "o200k". */
    static Tokenizer named(String name) {
        return TiktokenTokenizer.named(name);
    }

    /**
     * A tiktoken name, or the path of a {@code tokenizer.json} (or of a folder holding one, as a
     * Hugging Face model folder does).
     */
    static Tokenizer open(String nameOrPath) {
        Path path = Path.of(nameOrPath);
        if (TiktokenTokenizer.NAMES.contains(nameOrPath) || !Files.exists(path)) {
            if (nameOrPath.endsWith(".json") || nameOrPath.contains("/")) {
                throw new IllegalArgumentException("tokenizer " + nameOrPath + ": no such file or folder; pass a tokenizer.json, "
                        + "a folder holding one, or one of " + TiktokenTokenizer.NAMES);
            }
            return named(nameOrPath);
        }
        Path file = Files.isDirectory(path) ? path.resolve(ByteLevelBpe.FILE) : path;
        try {
            return ByteLevelBpe.read(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("tokenizer " + file + " cannot be read: " + e.getMessage(), e);
        }
    }

    /** What names it: the tiktoken name, or the tokenizer.json's absolute path. */
    String name();

    /** Ids run from 0 to {@code vocabSize() - 1}: the model's embedding rows. */
    int vocabSize();

    /**
     * The token that separates documents.
     *
     * @return its id
     */
    int endOfText();

    /** The token ids of {@code text}, with no special tokens added around it. */
    int[] encode(String text);

    /**
     * The text of token ids.
     *
     * @param tokens the ids
     * @return their text
     */
    String decode(int... tokens);

    /** The text of this tokenizer as a Hugging Face {@code tokenizer.json}, for exporting a model with it. */
    String toTokenizerJson();

    /** The end-of-text token as the tokenizer.json spells it ("&lt;|endoftext|&gt;"), for a tokenizer_config.json. */
    String endOfTextToken();
}
