package dev.longbow.model;

import dev.longbow.backend.Backend;
import dev.longbow.backend.TensorOps;
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

    /** Allocates fp32 weights on {@code backend} and zeroes them, padding between views included. */
    public static Weights allocate(ModelConfig c, Backend backend) {
        return allocate(c, backend, DType.F32);
    }

    /** Allocates weights of {@code dtype} on {@code backend} and zeroes them: a compute copy, for mixed precision. */
    public static Weights allocate(ModelConfig c, Backend backend, DType dtype) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        Slab.Builder b = declare(c, dtype, shapes);
        Allocation[] block = new Allocation[1];
        Slab slab = b.allocate(bytes -> block[0] = backend.allocate(bytes));
        long elements = block[0].segment().byteSize() / dtype.byteSize();
        Tensor flat = new Tensor(block[0].segment(), dtype, Shape.of(elements), block[0].placement());
        backend.tensors().fill(flat, 0f);
        return new Weights(c, slab, flat, List.copyOf(shapes.keySet()));
    }

    /**
     * Allocates zeroed fp32 weights in host memory, whatever the backend: where a sharded run
     * assembles the whole state for a checkpoint or a starting point.
     */
    public static Weights allocateOnHost(ModelConfig c) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        Slab.Builder b = declare(c, DType.F32, shapes);
        Allocation[] block = new Allocation[1];
        Slab slab = b.allocate(bytes -> block[0] = new HostAllocation(bytes));
        block[0].segment().fill((byte) 0);
        Tensor flat = new Tensor(block[0].segment(), DType.F32, Shape.of(block[0].segment().byteSize() / Float.BYTES),
                Placement.HOST);
        return new Weights(c, slab, flat, List.copyOf(shapes.keySet()));
    }

    /** Where each parameter starts in the fp32 {@link #flat()} layout, in elements, in slab order. */
    public static Map<String, Long> offsets(ModelConfig c) {
        Map<String, Long> elements = new LinkedHashMap<>();
        declare(c, DType.F32, new LinkedHashMap<>()).offsets().forEach((name, bytes) -> elements.put(name, bytes / Float.BYTES));
        return elements;
    }

    /** Bytes of one slab of {@code dtype} laid out like the parameters, before allocating it. */
    public static long byteSize(ModelConfig c, DType dtype) {
        return declare(c, dtype, new LinkedHashMap<>()).byteSize();
    }

    /** Every parameter's name and shape, in slab order, without allocating anything. */
    public static Map<String, long[]> shapes(ModelConfig c) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        declare(c, DType.F32, shapes);
        return shapes;
    }

    private static Slab.Builder declare(ModelConfig c, DType dtype, Map<String, long[]> names) {
        Slab.Builder b = Slab.builder();
        declare(b, names, dtype, "model.embed_tokens.weight", c.vocab(), c.dim());
        for (int l = 0; l < c.layers(); l++) {
            String p = "model.layers." + l + ".";
            declare(b, names, dtype, p + "input_layernorm.weight", c.dim());
            declare(b, names, dtype, p + "self_attn.q_proj.weight", c.qDim(), c.dim());
            declare(b, names, dtype, p + "self_attn.k_proj.weight", c.kvDim(), c.dim());
            declare(b, names, dtype, p + "self_attn.v_proj.weight", c.kvDim(), c.dim());
            declare(b, names, dtype, p + "self_attn.o_proj.weight", c.dim(), c.qDim());
            declare(b, names, dtype, p + "post_attention_layernorm.weight", c.dim());
            declare(b, names, dtype, p + "mlp.gate_proj.weight", c.ffnHidden(), c.dim());
            declare(b, names, dtype, p + "mlp.up_proj.weight", c.ffnHidden(), c.dim());
            declare(b, names, dtype, p + "mlp.down_proj.weight", c.dim(), c.ffnHidden());
        }
        declare(b, names, dtype, "model.norm.weight", c.dim());
        if (!c.tied()) {
            declare(b, names, dtype, "lm_head.weight", c.vocab(), c.dim());
        }
        return b;
    }

    private static void declare(Slab.Builder b, Map<String, long[]> names, DType dtype, String name, long... dims) {
        b.add(name, dtype, dims);
        names.put(name, dims);
    }

    /**
     * The model these weights belong to.
     *
     * @return its configuration
     */
    public ModelConfig config() {
        return config;
    }

    /**
     * A weight by its Hugging Face name, e.g. {@code model.layers.0.self_attn.q_proj.weight}.
     *
     * @param name the name
     * @return the tensor
     * @throws IllegalArgumentException for an unknown name
     */
    public Tensor get(String name) {
        return slab.get(name);
    }

    /** Names in slab order. */
    public List<String> names() {
        return names;
    }

    /** The whole slab as one vector (padding is zero): one all-reduce, one norm, one copy. */
    public Tensor flat() {
        return flat;
    }

    /**
     * The token embedding.
     *
     * @return {@code [vocab, dim]}
     */
    public Tensor embedding() {
        return get("model.embed_tokens.weight");
    }

    /** The output projection {@code [vocab, dim]}: the embedding when tied. */
    public Tensor head() {
        return config.tied() ? embedding() : get("lm_head.weight");
    }

    /**
     * The final RMSNorm's weight.
     *
     * @return {@code [dim]}
     */
    public Tensor finalNorm() {
        return get("model.norm.weight");
    }

    /**
     * Layer {@code l}'s weights.
     *
     * @param l the layer, from 0
     * @return its tensors
     */
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
        flat.requireDType(DType.F32); // the master weights are drawn; a compute copy is converted from them
        if (flat.placement() == Placement.HOST) {
            backend.synchronize(); // the host may touch a backend's HOST tensors only when its work has finished
            draw(seed, flat);
            return;
        }
        try (HostAllocation host = new HostAllocation(flat.byteSize())) {
            Tensor values = new Tensor(host.segment(), DType.F32, flat.shape(), Placement.HOST);
            draw(seed, values);
            backend.tensors().copy(values, flat);
        }
    }

    /** Writes the initial parameters into {@code values}, a host tensor laid out like {@link #flat()}. */
    private void draw(long seed, Tensor values) {
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
    }

    /**
     * Sets every view to {@code source}'s view of the same name, converted to this slab's dtype
     * (rounding to nearest even): the compute copy of the master weights. View by view, since the
     * two slabs' padding differs in elements.
     */
    public void convertFrom(Weights source, TensorOps ops) {
        for (String name : names) {
            ops.convert(source.get(name), get(name));
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
