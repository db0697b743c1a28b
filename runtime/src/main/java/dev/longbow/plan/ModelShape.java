package dev.longbow.plan;

import dev.longbow.data.Tokenizer;
import dev.longbow.model.ModelConfig;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the planner needs to know of a decoder-only transformer: its dimensions. A GPT block has a
 * two-matrix MLP (up, down), a Llama block a three-matrix SwiGLU (gate, up, down); Longbow trains
 * the latter ({@link #toConfig}).
 *
 * @param mlpMatrices 2 for GPT, 3 for Llama
 * @param tied        whether the output head reuses the token embedding
 */
public record ModelShape(String name, int layers, int hidden, int heads, int kvHeads, int ffn, int mlpMatrices, int vocab, boolean tied) {

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

    /** A model whose output head has its own weights. */
    public ModelShape(String name, int layers, int hidden, int heads, int kvHeads, int ffn, int mlpMatrices, int vocab) {
        this(name, layers, hidden, heads, kvHeads, ffn, mlpMatrices, vocab, false);
    }

    private static final Map<String, ModelShape> PRESETS = Map.ofEntries(
            gpt("gpt-1.2b", 24, 2048, 16),
            gpt("gpt-2.7b", 32, 2560, 32),
            gpt("gpt-3b", 32, 2560, 32),
            gpt("gpt-6.7b", 32, 4096, 32),
            gpt("gpt-7b", 32, 4096, 32),
            gpt("gpt-13b", 40, 5120, 40),
            gpt("gpt-30b", 48, 7168, 64),
            Map.entry("llama2-7b", new ModelShape("llama2-7b", 32, 4096, 32, 32, 11008, 3, 32000)),
            Map.entry("llama2-13b", new ModelShape("llama2-13b", 40, 5120, 40, 40, 13824, 3, 32000)),
            Map.entry("llama2-70b", new ModelShape("llama2-70b", 80, 8192, 64, 8, 28672, 3, 32000)),
            Map.entry("llama3-8b", new ModelShape("llama3-8b", 32, 4096, 32, 8, 14336, 3, 128256)),
            Map.entry("llama3-70b", new ModelShape("llama3-70b", 80, 8192, 64, 8, 28672, 3, 128256)));

    private static Map.Entry<String, ModelShape> gpt(String name, int layers, int hidden, int heads) {
        return Map.entry(name, new ModelShape(name, layers, hidden, heads, heads, 4 * hidden, 2, 50304));
    }

    /**
     * A preset: the papers' GPT and Llama models, and {@code longbow train}'s own models
     * ({@code tiny} ... {@code large}, with the vocabulary of its default tokenizer, r50k).
     */
    public static ModelShape preset(String name) {
        ModelShape m = PRESETS.get(name);
        if (m != null) {
            return m;
        }
        for (String trained : ModelConfig.names()) {
            if (trained.equals(name)) {
                return of(ModelConfig.named(name, Tokenizer.named("r50k").vocabSize()));
            }
        }
        throw new IllegalArgumentException("unknown model '" + name + "'; presets: " + presetNames());
    }

    public static List<String> presetNames() {
        TreeMap<String, ModelShape> all = new TreeMap<>(PRESETS);
        ModelConfig.names().forEach(n -> all.put(n, null));
        return List.copyOf(all.keySet());
    }

    /** The shape of a model {@code longbow train} builds (a Llama: SwiGLU, head dim = hidden / heads). */
    public static ModelShape of(ModelConfig c) {
        if (c.headDim() * c.heads() != c.dim()) {
            throw new IllegalArgumentException("model " + c.name() + ": head dim " + c.headDim() + " x heads " + c.heads()
                    + " is not the hidden size " + c.dim() + ", which the planner's shapes assume");
        }
        return new ModelShape(c.name(), c.layers(), c.dim(), c.heads(), c.kvHeads(), c.ffnHidden(), 3, c.vocab(), c.tied());
    }

    /** Whether {@code longbow train} can build this model: a Llama (SwiGLU) with an even head dim. */
    public boolean trainable() {
        return mlpMatrices == 3 && headDim() % 2 == 0;
    }

    /**
     * The trainer's configuration of this model, for the memory it keeps; rotary base and norm
     * epsilon do not change sizes or FLOPs.
     */
    public ModelConfig toConfig() {
        if (!trainable()) {
            throw new IllegalStateException("model " + name + " has a " + mlpMatrices + "-matrix MLP; longbow train builds SwiGLU (Llama) models");
        }
        return new ModelConfig(name, vocab, hidden, layers, heads, kvHeads, headDim(), ffn, 500000f, 1e-5f, tied);
    }

    /** Whether {@code other} has these dimensions, whatever it is called. */
    public boolean sameDimensions(ModelShape other) {
        return layers == other.layers && hidden == other.hidden && heads == other.heads && kvHeads == other.kvHeads && ffn == other.ffn
                && mlpMatrices == other.mlpMatrices && vocab == other.vocab && tied == other.tied;
    }

    public int headDim() {
        return hidden / heads;
    }

    /** Weights of one block's matrices (norm weights are negligible). */
    public double layerParams() {
        double attention = (double) hidden * (heads + 2.0 * kvHeads) * headDim() + (double) heads * headDim() * hidden;
        return attention + (double) mlpMatrices * hidden * ffn;
    }

    /** All weights: the blocks, the embedding and the output head unless it is tied to the embedding. */
    public double params() {
        return layers * layerParams() + (tied ? 1.0 : 2.0) * vocab * hidden;
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
     * Elements one block's forward pass reads and writes per token outside its matrix products and
     * attention, counted for an unfused implementation: two RMSNorms and two residual adds (read
     * two, write one, of the hidden size each), rotary on q and k (read and write), and the MLP's
     * activation (SwiGLU: silu of the gate read and written, then its product with up: 5 ffn; GPT's
     * GELU: 2 ffn). Backward moves about twice as much.
     */
    public double layerElementwiseElementsPerToken() {
        return 4 * 3.0 * hidden + 2.0 * (heads + kvHeads) * headDim() + (mlpMatrices == 3 ? 5.0 : 2.0) * ffn;
    }

    /**
     * Activation elements one block keeps per token for its backward pass in a DeepSpeed-style
     * stack: its input, the norms' outputs, q, k, v, the attention output and its projection, and
     * the MLP's intermediates.
     */
    public double activationElementsPerToken() {
        double attention = 5.0 * hidden + (heads + 2.0 * kvHeads) * headDim();
        double mlp = 2.0 * hidden + (mlpMatrices == 3 ? 3.0 : 2.0) * ffn;
        return attention + mlp;
    }
}
