package dev.longbow.data;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;

import java.util.Map;

/**
 * A byte-pair-encoding tokenizer from jtokkit, whose vocabularies ship inside its jar: it works
 * offline. Special tokens in the text are encoded as ordinary text; {@link #endOfText()} separates
 * documents.
 */
public final class Tokenizer {
    /** Name, jtokkit type, vocabulary size (tiktoken's n_vocab) and the end-of-text token. */
    private record Spec(EncodingType type, int vocab, int endOfText) {
    }

    private static final Map<String, Spec> SPECS = Map.of(
            "r50k", new Spec(EncodingType.R50K_BASE, 50257, 50256),
            "p50k", new Spec(EncodingType.P50K_BASE, 50281, 50256),
            "cl100k", new Spec(EncodingType.CL100K_BASE, 100277, 100257),
            "o200k", new Spec(EncodingType.O200K_BASE, 200019, 199999));

    /** Loads each vocabulary once per JVM, when first asked for (a process that checks many configurations asks often). */
    private static final EncodingRegistry ENCODINGS = Encodings.newLazyEncodingRegistry();

    private final String name;
    private final Spec spec;
    private final Encoding encoding;

    private Tokenizer(String name, Spec spec) {
        this.name = name;
        this.spec = spec;
        this.encoding = ENCODINGS.getEncoding(spec.type);
    }

    /** "r50k" (GPT-2's, the default), "p50k", "cl100k" or "o200k". */
    public static Tokenizer named(String name) {
        Spec spec = SPECS.get(name);
        if (spec == null) {
            throw new IllegalArgumentException("unknown tokenizer '" + name + "'; choose one of " + SPECS.keySet().stream().sorted().toList());
        }
        return new Tokenizer(name, spec);
    }

    public String name() {
        return name;
    }

    public int vocabSize() {
        return spec.vocab;
    }

    public int endOfText() {
        return spec.endOfText;
    }

    public int[] encode(String text) {
        IntArrayList ids = encoding.encodeOrdinary(text);
        return ids.toArray();
    }

    public String decode(int... tokens) {
        IntArrayList ids = new IntArrayList(tokens.length);
        for (int t : tokens) {
            ids.add(t);
        }
        return encoding.decode(ids);
    }
}
