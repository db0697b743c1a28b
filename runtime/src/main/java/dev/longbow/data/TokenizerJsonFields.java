package dev.longbow.data;

import dev.longbow.checkpoint.Json;

import java.text.Normalizer;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads the fields of a tokenizer.json that {@link ByteLevelBpe} understands, and refuses each
 * one it does not in a message naming the file, the field and its value.
 */
final class TokenizerJsonFields {
    private final String file;

    TokenizerJsonFields(String file) {
        this.file = file;
    }

    IllegalArgumentException refuse(String why) {
        return new IllegalArgumentException("tokenizer " + file + ": " + why);
    }

    Map<?, ?> object(Map<?, ?> m, String key) {
        if (!(m.get(key) instanceof Map<?, ?> o)) {
            throw refuse("\"" + key + "\" is " + Json.write(m.get(key)) + ", not an object");
        }
        return o;
    }

    List<?> list(Map<?, ?> m, String key) {
        if (!(m.get(key) instanceof List<?> l)) {
            throw refuse("\"" + key + "\" is missing or not a list");
        }
        return l;
    }

    void require(Map<?, ?> m, String key, Object expected, String why) {
        Object v = m.get(key);
        if (v != null && !v.equals(expected)) {
            throw refuse("\"" + key + "\" is " + Json.write(v) + ": " + why);
        }
        if (v == null && expected instanceof String) {
            throw refuse("\"" + key + "\" is missing: " + why);
        }
    }

    void absentOrEmpty(Map<?, ?> m, String key) {
        Object v = m.get(key);
        if (v != null && !"".equals(v)) {
            throw refuse("model \"" + key + "\" is " + Json.write(v) + ", which byte-level BPE does not use; not supported");
        }
    }

    /** A merge as "a b" (older files) or ["a", "b"] (tokenizers 0.20 on). */
    String[] mergePair(Object merge) {
        if (merge instanceof String s) {
            int space = s.indexOf(' ');
            if (space > 0 && s.indexOf(' ', space + 1) < 0) {
                return new String[]{s.substring(0, space), s.substring(space + 1)};
            }
        } else if (merge instanceof List<?> l && l.size() == 2 && l.get(0) instanceof String a && l.get(1) instanceof String b) {
            return new String[]{a, b};
        }
        throw refuse("merge " + Json.write(merge) + " is neither \"a b\" nor [\"a\", \"b\"]");
    }

    /** null, or one Unicode normalization form (alone or as the only entry of a Sequence). */
    Normalizer.Form normalization(Object normalizer) {
        if (normalizer == null) {
            return null;
        }
        Map<?, ?> n = (Map<?, ?>) normalizer;
        if ("Sequence".equals(n.get("type")) && n.get("normalizers") instanceof List<?> l && l.size() <= 1) {
            return l.isEmpty() ? null : normalization(l.getFirst());
        }
        return switch (String.valueOf(n.get("type"))) {
            case "NFC" -> Normalizer.Form.NFC;
            case "NFD" -> Normalizer.Form.NFD;
            case "NFKC" -> Normalizer.Form.NFKC;
            case "NFKD" -> Normalizer.Form.NFKD;
            default -> throw refuse("normalizer " + Json.write(normalizer) + " is not supported (none, or NFC/NFD/NFKC/NFKD)");
        };
    }

    /**
     * A ByteLevel pre-tokenizer (its regex {@code gpt2Regex} when use_regex), or a Sequence of
     * Isolated Split regexes ending in ByteLevel: the regexes are added to {@code splits}.
     */
    void preTokenizer(Object pre, String gpt2Regex, List<Pattern> splits, boolean[] addPrefixSpace) {
        if (!(pre instanceof Map<?, ?> p)) {
            throw refuse("pre_tokenizer " + Json.write(pre) + " is not byte-level (ByteLevel, or Split then ByteLevel)");
        }
        List<?> steps = "Sequence".equals(p.get("type")) && p.get("pretokenizers") instanceof List<?> l ? l : List.of(p);
        for (int i = 0; i < steps.size(); i++) {
            Map<?, ?> s = (Map<?, ?>) steps.get(i);
            String type = String.valueOf(s.get("type"));
            boolean last = i == steps.size() - 1;
            if (type.equals("ByteLevel") && last) {
                if (!Boolean.FALSE.equals(s.get("use_regex"))) {
                    splits.add(compile(gpt2Regex));
                }
                addPrefixSpace[0] = Boolean.TRUE.equals(s.get("add_prefix_space"));
            } else if (type.equals("Split") && !last) {
                if (!"Isolated".equals(s.get("behavior")) || Boolean.TRUE.equals(s.get("invert"))) {
                    throw refuse("Split pre-tokenizer with behavior " + Json.write(s.get("behavior")) + " and invert "
                            + s.get("invert") + " is not supported (Isolated, not inverted)");
                }
                Map<?, ?> pattern = (Map<?, ?>) s.get("pattern");
                splits.add(pattern.get("Regex") instanceof String r ? compile(r) : Pattern.compile(Pattern.quote((String) pattern.get("String"))));
            } else {
                throw refuse("pre-tokenizer " + Json.write(s) + " is not supported: byte-level BPE ends in ByteLevel, "
                        + "after Split regexes at most");
            }
        }
    }

    /**
     * The tokenizers library's regexes (Oniguruma) in Java: with Unicode character classes, so that
     * {@code \s} means Unicode white space as it does there.
     */
    private static Pattern compile(String regex) {
        return Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
    }
}
