package dev.longbow.data;

import dev.longbow.checkpoint.Json;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A tiktoken encoding written as a Hugging Face {@code tokenizer.json}: its regex as a Split
 * pre-tokenizer, byte-level characters, the ranks as the vocabulary, and the merges recovered from
 * the ranks the way Hugging Face's own tiktoken converter does (each token of two or more bytes is
 * the merge of the two parts that byte-pair encoding with only lower ranks leaves). With
 * {@code ignore_merges} a pre-token that is itself in the vocabulary is one token, as in tiktoken.
 */
final class TiktokenToHf {
    static final String END_OF_TEXT = "<|endoftext|>";

    private TiktokenToHf() {
    }

    /** {@code ranks}: the name of a {@code .tiktoken} resource beside {@code anchor} (base64 token, space, rank per line). */
    static String convert(Class<?> anchor, String ranks, String pattern, int endOfText) {
        Map<String, Integer> byBytes = readRanks(anchor, ranks);   // tokens as ISO-8859-1 strings: one char per byte
        int maxRank = byBytes.values().stream().mapToInt(Integer::intValue).max().orElse(0);
        String[] byRank = new String[maxRank + 1];
        for (var e : byBytes.entrySet()) {
            byRank[e.getValue()] = e.getKey();
        }
        Map<String, Object> vocab = new LinkedHashMap<>();
        List<String> merges = new ArrayList<>();
        for (int rank = 0; rank < byRank.length; rank++) {
            String token = byRank[rank];
            if (token == null) {
                continue;
            }
            vocab.put(chars(token), rank);
            if (token.length() > 1) {
                List<String> parts = bpe(byBytes, token, rank);
                if (parts.size() == 2) {
                    merges.add(chars(parts.get(0)) + " " + chars(parts.get(1)));
                }
            }
        }
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "BPE");
        model.put("dropout", null);
        model.put("unk_token", null);
        model.put("continuing_subword_prefix", null);
        model.put("end_of_word_suffix", null);
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", true);
        model.put("vocab", vocab);
        model.put("merges", merges);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("version", "1.0");
        json.put("truncation", null);
        json.put("padding", null);
        json.put("added_tokens", List.of(addedToken(endOfText, END_OF_TEXT)));
        json.put("normalizer", null);
        json.put("pre_tokenizer", orderedMap("type", "Sequence", "pretokenizers", List.of(
                orderedMap("type", "Split", "pattern", orderedMap("Regex", pattern), "behavior", "Isolated", "invert", false),
                orderedMap("type", "ByteLevel", "add_prefix_space", false, "trim_offsets", true, "use_regex", false))));
        json.put("post_processor", orderedMap("type", "ByteLevel", "add_prefix_space", true, "trim_offsets", false, "use_regex", true));
        json.put("decoder", orderedMap("type", "ByteLevel", "add_prefix_space", true, "trim_offsets", true, "use_regex", true));
        json.put("model", model);
        return Json.write(json);
    }

    static Map<String, Object> addedToken(int id, String content) {
        return orderedMap("id", id, "content", content, "single_word", false, "lstrip", false, "rstrip", false,
                "normalized", false, "special", true);
    }

    private static Map<String, Object> orderedMap(Object... keyValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put((String) keyValues[i], keyValues[i + 1]);
        }
        return m;
    }

    /** Byte-pair encoding of {@code token} using only merges of rank below {@code maxRank}. */
    private static List<String> bpe(Map<String, Integer> ranks, String token, int maxRank) {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < token.length(); i++) {
            parts.add(token.substring(i, i + 1));
        }
        while (true) {
            int best = -1, bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < parts.size(); i++) {
                Integer r = ranks.get(parts.get(i) + parts.get(i + 1));
                if (r != null && r < bestRank) {
                    best = i;
                    bestRank = r;
                }
            }
            if (best < 0 || bestRank >= maxRank) {
                return parts;
            }
            parts.set(best, parts.get(best) + parts.remove(best + 1));
        }
    }

    private static String chars(String latin1) {
        return ByteLevelChars.toText(latin1.getBytes(StandardCharsets.ISO_8859_1));
    }

    private static Map<String, Integer> readRanks(Class<?> anchor, String resource) {
        Map<String, Integer> ranks = new HashMap<>();
        try (InputStream in = anchor.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("jtokkit's jar lacks " + resource);
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                int space = line.indexOf(' ');
                if (space > 0) {
                    byte[] bytes = Base64.getDecoder().decode(line.substring(0, space));
                    ranks.put(new String(bytes, StandardCharsets.ISO_8859_1), Integer.parseInt(line.substring(space + 1).trim()));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + resource + " from jtokkit's jar", e);
        }
        return ranks;
    }
}
