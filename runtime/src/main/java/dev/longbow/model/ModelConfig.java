package dev.longbow.model;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * The shape of a Llama-style decoder. {@link #named} gives a preset ("tiny" to "large");
 * {@link #builder} starts from the tiny preset and changes what is named:
 * {@code ModelConfig.builder("mine", vocab).dim(256).layers(6).build()}.
 *
 * @param name       what logs and checkpoints call it
 * @param vocab      token ids {@code 0..vocab-1}: the embedding's rows
 * @param dim        the residual stream's width
 * @param layers     decoder layers
 * @param heads      query heads (Hq)
 * @param kvHeads    key/value heads (Hkv); {@code heads % kvHeads == 0} (grouped-query attention)
 * @param headDim    the head dimension, even (rotary embeddings rotate pairs)
 * @param ffnHidden  width of the SwiGLU MLP
 * @param ropeTheta  the rotary embeddings' base
 * @param normEps    RMSNorm's epsilon
 * @param tied       whether the output head reuses the token embedding
 */
public record ModelConfig(String name, int vocab, int dim, int layers, int heads, int kvHeads, int headDim,
                          int ffnHidden, float ropeTheta, float normEps, boolean tied) {

    /** Refuses extents below 1, heads not divisible by the KV heads, an odd head dim. */
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

    /**
     * The named configuration for a tokenizer of {@code vocab} tokens.
     *
     * @param name  "tiny", "small", "base" or "large"
     * @param vocab the tokenizer's vocabulary size
     * @return the preset
     * @throws IllegalArgumentException for another name, listing the presets
     */
    public static ModelConfig named(String name, int vocab) {
        IntFunction<ModelConfig> f = NAMED.get(name);
        if (f == null) {
            throw new IllegalArgumentException("unknown model '" + name + "'; choose one of " + NAMED.keySet());
        }
        return f.apply(vocab);
    }

    /**
     * The presets' names.
     *
     * @return "tiny", "small", "base", "large"
     */
    public static Iterable<String> names() {
        return NAMED.keySet();
    }

    /**
     * A builder that starts from the tiny preset with {@code vocab} tokens, named {@code name}.
     *
     * @param name  what logs and checkpoints call the model
     * @param vocab the tokenizer's vocabulary size
     * @return the builder
     */
    public static Builder builder(String name, int vocab) {
        return new Builder(named("tiny", vocab)).name(name);
    }

    /**
     * A builder that starts from this configuration.
     *
     * @return the builder
     */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * Query projection width.
     *
     * @return {@code heads * headDim}
     */
    public int qDim() {
        return heads * headDim;
    }

    /**
     * Key and value projection width.
     *
     * @return {@code kvHeads * headDim}
     */
    public int kvDim() {
        return kvHeads * headDim;
    }

    /**
     * Parameters, counting a tied head once.
     *
     * @return the count
     */
    public long parameterCount() {
        long perLayer = 2L * dim + (long) dim * qDim() * 2 + (long) dim * kvDim() * 2 + 3L * dim * ffnHidden;
        return (long) vocab * dim * (tied ? 1 : 2) + layers * perLayer + dim;
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** Builds a {@link ModelConfig} by named settings; {@link #build} validates it. Each setter returns this builder. */
    public static final class Builder {
        private String name;
        private int vocab;
        private int dim;
        private int layers;
        private int heads;
        private int kvHeads;
        private int headDim;
        private int ffnHidden;
        private float ropeTheta;
        private float normEps;
        private boolean tied;

        private Builder(ModelConfig from) {
            name = from.name;
            vocab = from.vocab;
            dim = from.dim;
            layers = from.layers;
            heads = from.heads;
            kvHeads = from.kvHeads;
            headDim = from.headDim;
            ffnHidden = from.ffnHidden;
            ropeTheta = from.ropeTheta;
            normEps = from.normEps;
            tied = from.tied;
        }

        /** @param name what logs call the model @return this builder */
        public Builder name(String name) {
            this.name = name;
            return this;
        }

        /** @param vocab the vocabulary size @return this builder */
        public Builder vocab(int vocab) {
            this.vocab = vocab;
            return this;
        }

        /** @param dim the residual stream's width @return this builder */
        public Builder dim(int dim) {
            this.dim = dim;
            return this;
        }

        /** @param layers decoder layers @return this builder */
        public Builder layers(int layers) {
            this.layers = layers;
            return this;
        }

        /**
         * Query heads, and as many key/value heads unless {@link #kvHeads} follows.
         *
         * @param heads query heads
         * @return this builder
         */
        public Builder heads(int heads) {
            this.heads = heads;
            this.kvHeads = heads;
            return this;
        }

        /** @param kvHeads key/value heads, dividing the query heads @return this builder */
        public Builder kvHeads(int kvHeads) {
            this.kvHeads = kvHeads;
            return this;
        }

        /** @param headDim the head dimension, even @return this builder */
        public Builder headDim(int headDim) {
            this.headDim = headDim;
            return this;
        }

        /** @param ffnHidden the SwiGLU MLP's width @return this builder */
        public Builder ffnHidden(int ffnHidden) {
            this.ffnHidden = ffnHidden;
            return this;
        }

        /** @param ropeTheta the rotary embeddings' base @return this builder */
        public Builder ropeTheta(float ropeTheta) {
            this.ropeTheta = ropeTheta;
            return this;
        }

        /** @param normEps RMSNorm's epsilon @return this builder */
        public Builder normEps(float normEps) {
            this.normEps = normEps;
            return this;
        }

        /** @param tied whether the output head reuses the embedding @return this builder */
        public Builder tied(boolean tied) {
            this.tied = tied;
            return this;
        }

        /**
         * The configuration.
         *
         * @return the configuration
         * @throws IllegalArgumentException naming the setting that cannot be
         */
        public ModelConfig build() {
            return new ModelConfig(name, vocab, dim, layers, heads, kvHeads, headDim, ffnHidden, ropeTheta, normEps, tied);
        }
    }
}
