package dev.longbow.data;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;

import java.util.List;
import java.util.Map;

/**
 * A byte-pair-encoding tokenizer from jtokkit, whose vocabularies ship inside its jar: it works
 * offline. Special tokens in the text are encoded as ordinary text; {@link #endOfText()} separates
 * documents.
 */
public final class TiktokenTokenizer implements Tokenizer {
    /** Name, jtokkit type, resource of the ranks, vocabulary size (tiktoken's n_vocab), end-of-text token and pre-tokenizer regex. */
    private record Spec(EncodingType type, String ranks, int vocab, int endOfText, String pattern) {
    }

    private static final String GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    private static final String CL100K = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
            + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String O200K = "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
            + "(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*"
            + "(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private static final Map<String, Spec> SPECS = Map.of(
            "r50k", new Spec(EncodingType.R50K_BASE, "r50k_base.tiktoken", 50257, 50256, GPT2),
            "p50k", new Spec(EncodingType.P50K_BASE, "p50k_base.tiktoken", 50281, 50256, GPT2),
            "cl100k", new Spec(EncodingType.CL100K_BASE, "cl100k_base.tiktoken", 100277, 100257, CL100K),
            "o200k", new Spec(EncodingType.O200K_BASE, "o200k_base.tiktoken", 200019, 199999, O200K));

    /** The names {@link #named} knows, sorted. */
    static final List<String> NAMES = SPECS.keySet().stream().sorted().toList();

    /** Loads each vocabulary once per JVM, when first asked for (a process that checks many configurations asks often). */
    private static final EncodingRegistry ENCODINGS = Encodings.newLazyEncodingRegistry();

    private final String name;
    private final Spec spec;
    private final Encoding encoding;

    private TiktokenTokenizer(String name, Spec spec) {
        this.name = name;
        this.spec = spec;
        this.encoding = ENCODINGS.getEncoding(spec.type);
    }

    /** "r50k" (GPT-2's, the default), "p50k", "cl100k" or "o200k". */
    public static TiktokenTokenizer named(String name) {
        Spec spec = SPECS.get(name);
        if (spec == null) {
            throw new IllegalArgumentException("unknown tokenizer '" + name + "'; choose one of " + NAMES
                    + " or pass the path of a tokenizer.json");
        }
        return new TiktokenTokenizer(name, spec);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int vocabSize() {
        return spec.vocab;
    }

    @Override
    public int endOfText() {
        return spec.endOfText;
    }

    @Override
    public int[] encode(String text) {
        IntArrayList ids = encoding.encodeOrdinary(text);
        return ids.toArray();
    }

    @Override
    public String decode(int... tokens) {
        IntArrayList ids = new IntArrayList(tokens.length);
        for (int t : tokens) {
            ids.add(t);
        }
        return encoding.decode(ids);
    }

    @Override
    public String toTokenizerJson() {
        return TiktokenToHf.convert(Encodings.class, spec.ranks, spec.pattern, spec.endOfText);
    }

    @Override
    public String endOfTextToken() {
        return TiktokenToHf.END_OF_TEXT;
    }
}
