package dev.longbow.checkpoint;

import dev.longbow.model.ModelConfig;

import java.util.LinkedHashMap;
import java.util.Map;

/** A model configuration as the JSON string a checkpoint's metadata carries. */
public final class ConfigJson {
    private ConfigJson() {
    }

    /**
     * The model configuration as JSON, for checkpoint metadata.
     *
     * @param c the configuration
     * @return one line of JSON
     */
    public static String write(ModelConfig c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", c.name());
        m.put("vocab", c.vocab());
        m.put("dim", c.dim());
        m.put("layers", c.layers());
        m.put("heads", c.heads());
        m.put("kvHeads", c.kvHeads());
        m.put("headDim", c.headDim());
        m.put("ffnHidden", c.ffnHidden());
        m.put("ropeTheta", (double) c.ropeTheta());
        m.put("normEps", (double) c.normEps());
        m.put("tied", c.tied());
        return Json.write(m);
    }

    /**
     * The model configuration {@link #write} wrote.
     *
     * @param json the JSON
     * @return the configuration
     * @throws IllegalArgumentException when a field is missing or not a number
     */
    public static ModelConfig read(String json) {
        Map<?, ?> m = (Map<?, ?>) Json.parse(json);
        return new ModelConfig((String) m.get("name"), i(m, "vocab"), i(m, "dim"), i(m, "layers"), i(m, "heads"),
                i(m, "kvHeads"), i(m, "headDim"), i(m, "ffnHidden"), f(m, "ropeTheta"), f(m, "normEps"), (Boolean) m.get("tied"));
    }

    private static int i(Map<?, ?> m, String key) {
        return ((Number) m.get(key)).intValue();
    }

    private static float f(Map<?, ?> m, String key) {
        return ((Number) m.get(key)).floatValue();
    }
}
