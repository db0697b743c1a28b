package dev.longbow.data;

import dev.longbow.checkpoint.Json;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Hugging Face {@code tokenizer.json} with a byte-level BPE model, the kind GPT-2-family and
 * Llama 3 models ship, encoding as the {@code tokenizers} library does with
 * {@code add_special_tokens=False}: added tokens found in the text first, then the normalizer
 * (none or Unicode NFC/NFD/NFKC/NFKD), the pre-tokenizer (a ByteLevel one with GPT-2's regex, or
 * Split regexes followed by ByteLevel), and byte-pair merges by rank, a pre-token that is itself in
 * the vocabulary taken whole when {@code ignore_merges} is set. Anything else a tokenizer.json can
 * say (WordPiece, Unigram, Metaspace as in Llama 2, byte fallback, stripping added tokens) is
 * refused when the file is read, naming the field.
 */
public final class ByteLevelBpe implements Tokenizer {
    /** The file's name in a model folder. */
    public static final String FILE = "tokenizer.json";
    private static final String GPT2_REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    private static final List<String> END_OF_TEXT_NAMES = List.of("<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>", "<|im_end|>");
    private static final int CACHE_LIMIT = 1 << 16;

    private final String name;
    private final String json;
    private final Map<String, Integer> vocab;
    private final String[] idToToken;
    private final Map<Long, long[]> merges;   // (left id, right id) -> {rank, merged id}
    private final boolean ignoreMerges;
    private final Normalizer.Form normalization;
    private final List<Pattern> splits;
    private final boolean addPrefixSpace;
    private final Pattern addedTokens;
    private final Map<String, Integer> added;
    private final int endOfText;
    private final String endOfTextToken;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    private ByteLevelBpe(String name, String json, Map<String, Integer> vocab, Map<Long, long[]> merges, boolean ignoreMerges,
                         Normalizer.Form normalization, List<Pattern> splits, boolean addPrefixSpace, Map<String, Integer> added,
                         String endOfTextToken) {
        this.name = name;
        this.json = json;
        this.vocab = vocab;
        this.merges = merges;
        this.ignoreMerges = ignoreMerges;
        this.normalization = normalization;
        this.splits = splits;
        this.addPrefixSpace = addPrefixSpace;
        this.added = added;
        this.endOfTextToken = endOfTextToken;
        this.endOfText = added.getOrDefault(endOfTextToken, vocab.getOrDefault(endOfTextToken, -1));
        int size = 0;
        for (int id : vocab.values()) {
            size = Math.max(size, id + 1);
        }
        for (int id : added.values()) {
            size = Math.max(size, id + 1);
        }
        this.idToToken = new String[size];
        vocab.forEach((t, id) -> idToToken[id] = t);
        added.forEach((t, id) -> idToToken[id] = t);
        // Longest first, so that an added token containing another one wins, as in the tokenizers library.
        this.addedTokens = added.isEmpty() ? null : Pattern.compile(String.join("|", added.keySet().stream()
                .sorted(Comparator.comparingInt(String::length).reversed()).map(Pattern::quote).toList()));
    }

    /** Reads {@code file}; the end-of-text token comes from a tokenizer_config.json beside it, else from the usual names. */
    public static ByteLevelBpe read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("tokenizer " + file + ": no such file; pass a tokenizer.json or a folder holding one");
        }
        String text = Files.readString(file);
        Map<?, ?> root;
        try {
            root = (Map<?, ?>) Json.parse(text);
        } catch (IllegalArgumentException | ClassCastException e) {
            throw new IllegalArgumentException(file + " is not a JSON object: " + e.getMessage());
        }
        return parse(root, text, file.toAbsolutePath().normalize().toString(), configuredEndOfText(file.resolveSibling("tokenizer_config.json")));
    }

    private static String configuredEndOfText(Path config) throws IOException {
        if (!Files.isRegularFile(config)) {
            return null;
        }
        try {
            Object eos = ((Map<?, ?>) Json.parse(Files.readString(config))).get("eos_token");
            return eos instanceof Map<?, ?> m ? (String) m.get("content") : (String) eos;
        } catch (IllegalArgumentException | ClassCastException e) {
            return null;   // a tokenizer_config.json we cannot read names nothing; the usual names decide
        }
    }

    static ByteLevelBpe parse(Map<?, ?> root, String json, String name, String endOfTextToken) {
        TokenizerJsonFields f = new TokenizerJsonFields(name);
        Map<?, ?> model = f.object(root, "model");
        f.require(model, "type", "BPE", "only byte-level BPE models are read (WordPiece and Unigram tokenizers are not)");
        f.require(model, "byte_fallback", false, "byte fallback belongs to SentencePiece-style BPE (Llama 2), not byte-level BPE");
        f.absentOrEmpty(model, "continuing_subword_prefix");
        f.absentOrEmpty(model, "end_of_word_suffix");
        f.absentOrEmpty(model, "dropout");
        Map<String, Integer> vocab = new HashMap<>();
        f.object(model, "vocab").forEach((k, v) -> vocab.put((String) k, ((Number) v).intValue()));
        Map<Long, long[]> merges = new HashMap<>();
        List<?> mergeList = f.list(model, "merges");
        for (int rank = 0; rank < mergeList.size(); rank++) {
            String[] pair = f.mergePair(mergeList.get(rank));
            Integer a = vocab.get(pair[0]), b = vocab.get(pair[1]), ab = vocab.get(pair[0] + pair[1]);
            if (a == null || b == null || ab == null) {
                throw f.refuse("merge " + rank + " (" + pair[0] + " " + pair[1] + ") names a token that is not in the vocabulary");
            }
            merges.putIfAbsent(key(a, b), new long[]{rank, ab});
        }
        Normalizer.Form normalization = f.normalization(root.get("normalizer"));
        List<Pattern> splits = new ArrayList<>();
        boolean[] prefixSpace = {false};
        f.preTokenizer(root.get("pre_tokenizer"), GPT2_REGEX, splits, prefixSpace);
        Map<String, Integer> added = new HashMap<>();
        for (Object o : root.get("added_tokens") instanceof List<?> l ? l : List.of()) {
            Map<?, ?> t = (Map<?, ?>) o;
            for (String flag : List.of("lstrip", "rstrip", "single_word")) {
                if (Boolean.TRUE.equals(t.get(flag))) {
                    throw f.refuse("added token " + t.get("content") + " sets " + flag + ", which Longbow does not implement");
                }
            }
            added.put((String) t.get("content"), ((Number) t.get("id")).intValue());
        }
        String eot = endOfTextToken;
        if (eot == null || (!added.containsKey(eot) && !vocab.containsKey(eot))) {
            eot = END_OF_TEXT_NAMES.stream().filter(n -> added.containsKey(n) || vocab.containsKey(n)).findFirst()
                    .orElseThrow(() -> f.refuse("it has no end-of-text token (looked for eos_token in tokenizer_config.json and "
                            + "for " + END_OF_TEXT_NAMES + "); add one, or put a tokenizer_config.json naming eos_token beside it"));
        }
        return new ByteLevelBpe(name, json, vocab, merges, Boolean.TRUE.equals(model.get("ignore_merges")), normalization, splits,
                prefixSpace[0], added, eot);
    }

    private static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int vocabSize() {
        return idToToken.length;
    }

    @Override
    public int endOfText() {
        return endOfText;
    }

    @Override
    public String endOfTextToken() {
        return endOfTextToken;
    }

    @Override
    public int[] encode(String text) {
        IntList out = new IntList();
        if (addedTokens == null) {
            encodeOrdinary(text, out);
            return out.toArray();
        }
        Matcher m = addedTokens.matcher(text);
        int at = 0;
        while (m.find()) {
            encodeOrdinary(text.substring(at, m.start()), out);
            out.add(added.get(m.group()));
            at = m.end();
        }
        encodeOrdinary(text.substring(at), out);
        return out.toArray();
    }

    private void encodeOrdinary(String text, IntList out) {
        if (text.isEmpty()) {
            return;
        }
        String s = normalization == null ? text : Normalizer.normalize(text, normalization);
        if (addPrefixSpace && !s.startsWith(" ")) {
            s = " " + s;
        }
        List<String> pieces = List.of(s);
        for (Pattern p : splits) {
            List<String> next = new ArrayList<>();
            for (String piece : pieces) {
                isolate(p, piece, next);
            }
            pieces = next;
        }
        for (String piece : pieces) {
            for (int id : word(ByteLevelChars.toText(piece.getBytes(StandardCharsets.UTF_8)))) {
                out.add(id);
            }
        }
    }

    /** Split with behaviour "Isolated": every match a piece, and the text between matches too. */
    private static void isolate(Pattern p, String s, List<String> out) {
        Matcher m = p.matcher(s);
        int at = 0;
        while (m.find()) {
            if (m.start() > at) {
                out.add(s.substring(at, m.start()));
            }
            if (m.end() > m.start()) {
                out.add(m.group());
            }
            at = m.end();
        }
        if (at < s.length()) {
            out.add(s.substring(at));
        }
    }

    /** One pre-token's ids: whole when allowed, else its characters merged pair by pair, lowest rank (then leftmost) first. */
    private int[] word(String chars) {
        int[] hit = cache.get(chars);
        if (hit != null) {
            return hit;
        }
        Integer whole = ignoreMerges ? vocab.get(chars) : null;
        int[] ids;
        if (whole != null) {
            ids = new int[]{whole};
        } else {
            ids = new int[chars.length()];
            int n = chars.length();
            for (int i = 0; i < n; i++) {
                Integer id = vocab.get(chars.substring(i, i + 1));
                if (id == null) {
                    throw new IllegalStateException("tokenizer " + name + " lacks the byte-level character '" + chars.charAt(i) + "'");
                }
                ids[i] = id;
            }
            while (n > 1) {
                int best = -1;
                long bestRank = Long.MAX_VALUE, merged = 0;
                for (int i = 0; i + 1 < n; i++) {
                    long[] rule = merges.get(key(ids[i], ids[i + 1]));
                    if (rule != null && rule[0] < bestRank) {
                        best = i;
                        bestRank = rule[0];
                        merged = rule[1];
                    }
                }
                if (best < 0) {
                    break;
                }
                ids[best] = (int) merged;
                System.arraycopy(ids, best + 2, ids, best + 1, n - best - 2);
                n--;
            }
            ids = java.util.Arrays.copyOf(ids, n);
        }
        if (cache.size() < CACHE_LIMIT) {
            cache.put(chars, ids);
        }
        return ids;
    }

    @Override
    public String decode(int... tokens) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int id : tokens) {
            String t = id >= 0 && id < idToToken.length ? idToToken[id] : null;
            if (t == null) {
                throw new IllegalArgumentException("token id " + id + " is not in tokenizer " + name + " (0.." + (idToToken.length - 1) + ")");
            }
            if (added.containsKey(t)) {
                bytes.writeBytes(t.getBytes(StandardCharsets.UTF_8));
            } else {
                ByteLevelChars.appendBytes(t, bytes);
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Override
    public String toTokenizerJson() {
        return json;
    }

    /** A growable int array, to avoid boxing every id of a document. */
    private static final class IntList {
        private int[] a = new int[64];
        private int n;

        void add(int v) {
            if (n == a.length) {
                a = java.util.Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }
}
