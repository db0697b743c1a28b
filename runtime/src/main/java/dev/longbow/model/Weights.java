package dev.longbow.model;

import dev.longbow.backend.Backend;
import dev.longbow.tensor.Allocation;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.HostAllocation;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Every parameter of a model (or its gradient, or an optimizer moment: same layout) in one slab,
 * carved into views named as Hugging Face's LlamaForCausalLM names them, so a checkpoint loads
 * there unchanged. Linear weights are {@code [out, in]}: {@code y = x W^T}.
 */
public final class Weights implements AutoCloseable {
    private final ModelConfig config;
    private final Slab slab;
    private final Tensor flat;
    private final List<String> names;

    /** One decoder layer's views. */
    public record Layer(Tensor attnNorm, Tensor wq, Tensor wk, Tensor wv, Tensor wo,
                        Tensor mlpNorm, Tensor wGate, Tensor wUp, Tensor wDown) {
    }

    private Weights(ModelConfig config, Slab slab, Tensor flat, List<String> names) {
        this.config = config;
        this.slab = slab;
        this.flat = flat;
        this.names = names;
    }

    /** Allocates on {@code backend} and zeroes, padding between views included. */
    public static Weights allocate(ModelConfig c, Backend backend) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        Slab.Builder b = declare(c, shapes);
        Allocation[] block = new Allocation[1];
        Slab slab = b.allocate(bytes -> block[0] = backend.allocate(bytes));
        long floats = block[0].segment().byteSize() / DType.F32.byteSize();
        Tensor flat = new Tensor(block[0].segment(), DType.F32, Shape.of(floats), block[0].placement());
        backend.tensors().fill(flat, 0f);
        return new Weights(c, slab, flat, List.copyOf(shapes.keySet()));
    }

    /** Bytes of one slab laid out like the parameters, before allocating it. */
    public static long byteSize(ModelConfig c) {
        return declare(c, new LinkedHashMap<>()).byteSize();
    }

    /** Every parameter's name and shape, in slab order, without allocating anything. */
    public static Map<String, long[]> shapes(ModelConfig c) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        declare(c, shapes);
        return shapes;
    }

    private static Slab.Builder declare(ModelConfig c, Map<String, long[]> names) {
        Slab.Builder b = Slab.builder();
        declare(b, names, "model.embed_tokens.weight", c.vocab(), c.dim());
        for (int l = 0; l < c.layers(); l++) {
            String p = "model.layers." + l + ".";
            declare(b, names, p + "input_layernorm.weight", c.dim());
            declare(b, names, p + "self_attn.q_proj.weight", c.qDim(), c.dim());
            declare(b, names, p + "self_attn.k_proj.weight", c.kvDim(), c.dim());
            declare(b, names, p + "self_attn.v_proj.weight", c.kvDim(), c.dim());
            declare(b, names, p + "self_attn.o_proj.weight", c.dim(), c.qDim());
            declare(b, names, p + "post_attention_layernorm.weight", c.dim());
            declare(b, names, p + "mlp.gate_proj.weight", c.ffnHidden(), c.dim());
            declare(b, names, p + "mlp.up_proj.weight", c.ffnHidden(), c.dim());
            declare(b, names, p + "mlp.down_proj.weight", c.dim(), c.ffnHidden());
        }
        declare(b, names, "model.norm.weight", c.dim());
        if (!c.tied()) {
            declare(b, names, "lm_head.weight", c.vocab(), c.dim());
        }
        return b;
    }

    private static void declare(Slab.Builder b, Map<String, long[]> names, String name, long... dims) {
        b.add(name, DType.F32, dims);
        names.put(name, dims);
    }

    public ModelConfig config() {
        return config;
    }

    public Tensor get(String name) {
        return slab.get(name);
    }

    /** Names in slab order. */
    public List<String> names() {
        return names;
    }

    /** The whole slab as one fp32 vector (padding is zero): one all-reduce, one norm, one copy. */
    public Tensor flat() {
        return flat;
    }

    public Tensor embedding() {
        return get("model.embed_tokens.weight");
    }

    /** The output projection {@code [vocab, dim]}: the embedding when tied. */
    public Tensor head() {
        return config.tied() ? embedding() : get("lm_head.weight");
    }

    public Tensor finalNorm() {
        return get("model.norm.weight");
    }

    public Layer layer(int l) {
        String p = "model.layers." + l + ".";
        return new Layer(get(p + "input_layernorm.weight"), get(p + "self_attn.q_proj.weight"),
                get(p + "self_attn.k_proj.weight"), get(p + "self_attn.v_proj.weight"),
                get(p + "self_attn.o_proj.weight"), get(p + "post_attention_layernorm.weight"),
                get(p + "mlp.gate_proj.weight"), get(p + "mlp.up_proj.weight"), get(p + "mlp.down_proj.weight"));
    }

    /**
     * Draws the initial parameters from {@code seed}: N(0, 0.02) for matrices, scaled by
     * 1/sqrt(2 layers) for the two projections that write into the residual stream (GPT-2), gains 1.
     * Every rank draws the same values, so replicas start equal without a broadcast.
     */
    public void initialize(long seed, Backend backend) {
        try (HostAllocation host = new HostAllocation(flat.byteSize())) {
            Tensor values = new Tensor(host.segment(), DType.F32, flat.shape(), Placement.HOST);
            SplittableRandom random = new SplittableRandom(seed);
            double residualStd = 0.02 / Math.sqrt(2.0 * config.layers());
            for (String name : names) {
                Tensor t = get(name);
                long offset = (t.data().address() - flat.data().address()) / DType.F32.byteSize();
                boolean gain = t.shape().rank() == 1;
                double std = name.endsWith("o_proj.weight") || name.endsWith("down_proj.weight") ? residualStd : 0.02;
                for (long i = 0; i < t.numel(); i++) {
                    values.setFloat(offset + i, gain ? 1f : (float) (random.nextGaussian() * std));
                }
            }
            backend.tensors().copy(values, flat);
        }
    }

    /** Weight decay applies to matrices, not to norm gains (as in GPT-2, llm.c). */
    public static boolean decayed(Tensor t) {
        return t.shape().rank() == 2;
    }

    @Override
    public void close() {
        slab.close();
    }
}
