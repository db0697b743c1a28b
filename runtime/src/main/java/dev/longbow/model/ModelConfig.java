package dev.longbow.model;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * The shape of a Llama-style decoder.
 *
 * @param heads      query heads (Hq)
 * @param kvHeads    key/value heads (Hkv); {@code heads % kvHeads == 0} (grouped-query attention)
 * @param ffnHidden  width of the SwiGLU MLP
 * @param tied       whether the output head reuses the token embedding
 */
public record ModelConfig(String name, int vocab, int dim, int layers, int heads, int kvHeads, int headDim,
                          int ffnHidden, float ropeTheta, float normEps, boolean tied) {

    public ModelConfig {
        require(vocab > 0 && dim > 0 && layers > 0 && heads > 0 && kvHeads > 0 && ffnHidden > 0,
                "all extents must be positive: " + this);
        require(heads % kvHeads == 0, "heads " + heads + " not divisible by kvHeads " + kvHeads
                + " (grouped-query attention shares each kv head among heads/kvHeads query heads)");
        require(headDim > 0 && headDim % 2 == 0, "headDim " + headDim + " must be even (rotary embeddings rotate pairs)");
    }

    private static final Map<String, IntFunction<ModelConfig>> NAMED = new LinkedHashMap<>();

    static {
        // vocab comes from the tokenizer; d_ff about 8/3 d as in Llama, rounded to a multiple of 32.
        NAMED.put("tiny", v -> new ModelConfig("tiny", v, 64, 2, 4, 2, 16, 192, 10000f, 1e-5f, true));
        NAMED.put("small", v -> new ModelConfig("small", v, 128, 4, 8, 4, 16, 352, 10000f, 1e-5f, true));
        NAMED.put("base", v -> new ModelConfig("base", v, 256, 6, 8, 4, 32, 704, 10000f, 1e-5f, true));
        NAMED.put("large", v -> new ModelConfig("large", v, 512, 8, 8, 8, 64, 1376, 500000f, 1e-5f, false));
    }

    /** The named configuration ("tiny", "small", "base", "large") for a tokenizer of {@code vocab} tokens. */
    public static ModelConfig named(String name, int vocab) {
        IntFunction<ModelConfig> f = NAMED.get(name);
        if (f == null) {
            throw new IllegalArgumentException("unknown model '" + name + "'; choose one of " + NAMED.keySet());
        }
        return f.apply(vocab);
    }

    public static Iterable<String> names() {
        return NAMED.keySet();
    }

    public int qDim() {
        return heads * headDim;
    }

    public int kvDim() {
        return kvHeads * headDim;
    }

    /** Parameters, counting a tied head once. */
    public long parameterCount() {
        long perLayer = 2L * dim + (long) dim * qDim() * 2 + (long) dim * kvDim() * 2 + 3L * dim * ffnHidden;
        return (long) vocab * dim * (tied ? 1 : 2) + layers * perLayer + dim;
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
