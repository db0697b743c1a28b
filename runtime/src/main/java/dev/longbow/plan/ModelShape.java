package dev.longbow.plan;

import java.util.List;
import java.util.Map;

/**
 * What the planner needs to know of a decoder-only transformer: its dimensions. A GPT block has a
 * two-matrix MLP (up, down), a Llama block a three-matrix SwiGLU (gate, up, down).
 *
 * @param mlpMatrices 2 for GPT, 3 for Llama
 */
public record ModelShape(String name, int layers, int hidden, int heads, int kvHeads, int ffn, int mlpMatrices, int vocab) {

    public ModelShape {
        if (layers < 1 || hidden < 1 || heads < 1 || kvHeads < 1 || ffn < 1 || vocab < 1) {
            throw new IllegalArgumentException("model " + name + ": every dimension must be positive");
        }
        if (hidden % heads != 0) {
            throw new IllegalArgumentException("model " + name + ": hidden " + hidden + " not divisible by heads " + heads);
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("model " + name + ": heads " + heads + " not divisible by kv heads " + kvHeads);
        }
        if (mlpMatrices != 2 && mlpMatrices != 3) {
            throw new IllegalArgumentException("model " + name + ": mlpMatrices " + mlpMatrices + " is neither 2 (GPT) nor 3 (SwiGLU)");
        }
    }

    private static final Map<String, ModelShape> PRESETS = Map.ofEntries(
            gpt("gpt-1.2b", 24, 2048, 16),
            gpt("gpt-2.7b", 32, 2560, 32),
            gpt("gpt-3b", 32, 2560, 32),
            gpt("gpt-6.7b", 32, 4096, 32),
            gpt("gpt-7b", 32, 4096, 32),
            gpt("gpt-13b", 40, 5120, 40),
            gpt("gpt-30b", 48, 7168, 64),
            Map.entry("llama3-8b", new ModelShape("llama3-8b", 32, 4096, 32, 8, 14336, 3, 128256)),
            Map.entry("llama3-70b", new ModelShape("llama3-70b", 80, 8192, 64, 8, 28672, 3, 128256)));

    private static Map.Entry<String, ModelShape> gpt(String name, int layers, int hidden, int heads) {
        return Map.entry(name, new ModelShape(name, layers, hidden, heads, heads, 4 * hidden, 2, 50304));
    }

    public static ModelShape preset(String name) {
        ModelShape m = PRESETS.get(name);
        if (m == null) {
            throw new IllegalArgumentException("unknown model '" + name + "'; presets: " + presetNames());
        }
        return m;
    }

    public static List<String> presetNames() {
        return PRESETS.keySet().stream().sorted().toList();
    }

    public int headDim() {
        return hidden / heads;
    }

    /** Weights of one block's matrices (norm weights are negligible). */
    public double layerParams() {
        double attention = (double) hidden * (heads + 2.0 * kvHeads) * headDim() + (double) heads * headDim() * hidden;
        return attention + (double) mlpMatrices * hidden * ffn;
    }

    /** All weights: the blocks, the embedding and an untied output head. */
    public double params() {
        return layers * layerParams() + 2.0 * vocab * hidden;
    }

    /** Matmul FLOPs of one block's forward pass per token. */
    public double layerMatmulFlopsPerToken() {
        return 2 * layerParams();
    }

    /**
     * Attention FLOPs of one block's forward pass over a sequence: {@code 4 S^2 Hq D} (q.k and p.v),
     * halved under a causal mask.
     */
    public double attentionFlops(long seqLen, boolean causal) {
        return 4.0 * seqLen * seqLen * heads * headDim() * (causal ? 0.5 : 1.0);
    }

    /**
     * Activation elements one block keeps per token for its backward pass: its input, the norms'
     * outputs, q, k, v, the attention output and its projection, and the MLP's intermediates.
     */
    public double activationElementsPerToken() {
        double attention = 5.0 * hidden + (heads + 2.0 * kvHeads) * headDim();
        double mlp = 2.0 * hidden + (mlpMatrices == 3 ? 3.0 : 2.0) * ffn;
        return attention + mlp;
    }
}
