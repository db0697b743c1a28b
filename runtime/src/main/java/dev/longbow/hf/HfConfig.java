package dev.longbow.hf;

import dev.longbow.checkpoint.Json;
import dev.longbow.model.ModelConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's shape as Hugging Face's {@code config.json} for {@code LlamaForCausalLM} says it.
 * Reading accepts exactly the Llama variant Longbow computes (SiLU, plain RoPE, no biases) and
 * refuses anything else by name, so a model never loads into a computation it was not trained for.
 */
public final class HfConfig {
    /** The file's name in a model folder. */
    public static final String FILE = "config.json";

    private HfConfig() {
    }

    /**
     * The JSON of {@code c}; {@code maxPositions} is the longest sequence it was trained on (HF uses
     * it only as a limit for generation with plain RoPE), {@code bos}/{@code eos} are token ids or null.
     */
    public static String write(ModelConfig c, int maxPositions, Integer bos, Integer eos) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("architectures", List.of("LlamaForCausalLM"));
        m.put("model_type", "llama");
        m.put("vocab_size", c.vocab());
        m.put("hidden_size", c.dim());
        m.put("intermediate_size", c.ffnHidden());
        m.put("num_hidden_layers", c.layers());
        m.put("num_attention_heads", c.heads());
        m.put("num_key_value_heads", c.kvHeads());
        m.put("head_dim", c.headDim());
        m.put("hidden_act", "silu");
        m.put("max_position_embeddings", maxPositions);
        m.put("rms_norm_eps", decimal(c.normEps()));
        m.put("rope_theta", decimal(c.ropeTheta()));
        m.put("rope_scaling", null);
        m.put("attention_bias", false);
        m.put("attention_dropout", 0.0);
        m.put("mlp_bias", false);
        m.put("tie_word_embeddings", c.tied());
        m.put("bos_token_id", bos);
        m.put("eos_token_id", eos);
        m.put("initializer_range", 0.02);
        m.put("pretraining_tp", 1);
        m.put("use_cache", true);
        m.put("torch_dtype", "float32");
        return Json.write(m);
    }

    /** The shape {@code dir/config.json} describes, named after the folder. */
    public static ModelConfig read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(dir + " has no " + FILE + ": a Hugging Face model folder holds config.json beside "
                    + "its model*.safetensors (save it with save_pretrained, or download the whole repository)");
        }
        Map<?, ?> m;
        try {
            m = (Map<?, ?>) Json.parse(text);
        } catch (IllegalArgumentException | ClassCastException e) {
            throw new IllegalArgumentException(file + " is not a JSON object: " + e.getMessage());
        }
        return parse(m, file, dir.toAbsolutePath().normalize().getFileName().toString());
    }

    static ModelConfig parse(Map<?, ?> m, Path file, String name) {
        Object type = m.get("model_type");
        if (!"llama".equals(type)) {
            throw new IllegalArgumentException(file + ": model_type " + Json.write(type) + " is not supported; Longbow trains "
                    + "Llama-architecture models (model_type \"llama\", LlamaForCausalLM)");
        }
        unsupported(m, file, "hidden_act", "silu", "SwiGLU with SiLU is the only MLP Longbow computes");
        unsupported(m, file, "rope_scaling", null, "Longbow computes plain RoPE (no llama3/linear/dynamic/yarn scaling); "
                + "remove rope_scaling only if the model was trained without it");
        unsupported(m, file, "attention_bias", false, "Longbow's projections have no bias");
        unsupported(m, file, "mlp_bias", false, "Longbow's projections have no bias");
        int dim = integer(m, file, "hidden_size", null);
        int heads = integer(m, file, "num_attention_heads", null);
        int kvHeads = integer(m, file, "num_key_value_heads", heads);
        int headDim = integer(m, file, "head_dim", heads > 0 && dim % heads == 0 ? dim / heads : null);
        // LlamaConfig's own defaults where a key is absent: eps 1e-6, theta 10000, untied.
        float eps = decimalOr(m, file, "rms_norm_eps", 1e-6);
        float theta = decimalOr(m, file, "rope_theta", 10000);
        Object tie = m.get("tie_word_embeddings");
        try {
            return new ModelConfig("hf:" + name, integer(m, file, "vocab_size", null), dim, integer(m, file, "num_hidden_layers", null),
                    heads, kvHeads, headDim, integer(m, file, "intermediate_size", null), theta, eps, Boolean.TRUE.equals(tie));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage());
        }
    }

    private static void unsupported(Map<?, ?> m, Path file, String key, Object allowed, String why) {
        Object v = m.get(key);
        if (v != null && !v.equals(allowed)) {
            throw new IllegalArgumentException(file + ": " + key + " " + Json.write(v) + " is not supported: " + why);
        }
    }

    private static int integer(Map<?, ?> m, Path file, String key, Integer fallback) {
        Object v = m.get(key);
        if (v == null && fallback != null) {
            return fallback;
        }
        if (!(v instanceof Long l) || l < 1 || l > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(file + ": " + key + " is " + Json.write(v) + "; a positive whole number is needed");
        }
        return l.intValue();
    }

    private static float decimalOr(Map<?, ?> m, Path file, String key, double fallback) {
        Object v = m.get(key);
        if (v == null) {
            return (float) fallback;
        }
        if (!(v instanceof Number n) || !(n.doubleValue() > 0) || Double.isInfinite(n.doubleValue())) {
            throw new IllegalArgumentException(file + ": " + key + " is " + Json.write(v) + "; a positive number is needed");
        }
        return n.floatValue();
    }

    /** A float as the short decimal people write (1.0E-5, not 9.999999747378752E-6). */
    private static double decimal(float f) {
        return Double.parseDouble(Float.toString(f));
    }
}
