package dev.longbow.model;

import dev.longbow.tensor.DType;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * How sharded model states cut the fp32 {@link Weights#flat()} layout: into units (the embedding,
 * each decoder layer, the tail: final norm and, untied, the head), each a contiguous range of the
 * layout, and each unit into {@code ranks} equal contiguous shards, the unit padded to a multiple
 * of the ranks. A rank keeps its shard of every unit one after another: its shard slab, where its
 * master weights, gradients and AdamW moments live.
 *
 * <p>Shards are a multiple of {@link Slab#ALIGNMENT} bytes, so every shard, and a unit gathered
 * from them, starts where a slab view may start: a gathered unit holds its views at the offsets
 * they have in the whole layout, less the unit's start.
 */
public final class UnitLayout {
    private static final long SHARD_QUANTUM = Slab.ALIGNMENT / Float.BYTES;

    private final ModelConfig config;
    private final int ranks;
    private final Map<String, Long> offsets;
    private final Map<String, long[]> shapes;
    private final List<Unit> units = new ArrayList<>();
    private final long shardElements;

    /**
     * One unit.
     *
     * @param start       its first element in the whole layout
     * @param length      its elements in the whole layout (padding between its views included)
     * @param shard       elements of each rank's shard: {@code length} divided by the ranks, rounded up
     * @param shardOffset where its shard starts in a rank's shard slab
     */
    public record Unit(long start, long length, long shard, long shardOffset) {
        /**
         * The elements of the unit on {@code ranks} ranks: gathered, with its padding.
         *
         * @param ranks the ranks it is sharded over
         * @return {@code ranks * shard}
         */
        public long padded(int ranks) {
            return ranks * shard;
        }
    }

    /**
     * A run of a rank's shard slab inside one parameter: what AdamW updates, decaying matrices, not gains.
     *
     * @param offset  its first element in the shard slab
     * @param length  its elements
     * @param decayed whether weight decay applies (a matrix)
     */
    public record Span(long offset, long length, boolean decayed) {
    }

    private UnitLayout(ModelConfig config, int ranks) {
        if (ranks < 1) {
            throw new IllegalArgumentException("model states sharded over " + ranks + " ranks: at least 1 is needed");
        }
        this.config = config;
        this.ranks = ranks;
        this.offsets = Weights.offsets(config);
        this.shapes = Weights.shapes(config);
        long total = Weights.byteSize(config, DType.F32) / Float.BYTES;
        List<Long> starts = new ArrayList<>();
        starts.add(offsets.get("model.embed_tokens.weight"));
        for (int l = 0; l < config.layers(); l++) {
            starts.add(offsets.get(layerPrefix(l) + "input_layernorm.weight"));
        }
        starts.add(offsets.get("model.norm.weight"));
        starts.add(total);
        long slab = 0;
        for (int u = 0; u + 1 < starts.size(); u++) {
            long length = starts.get(u + 1) - starts.get(u);
            long shard = ceil(ceil(length, ranks), SHARD_QUANTUM) * SHARD_QUANTUM;
            units.add(new Unit(starts.get(u), length, shard, slab));
            slab += shard;
        }
        this.shardElements = slab;
    }

    /**
     * The layout of {@code config}'s parameters sharded over {@code ranks} ranks.
     *
     * @param config the model
     * @param ranks  the ranks, at least 1
     * @return the layout
     */
    public static UnitLayout of(ModelConfig config, int ranks) {
        return new UnitLayout(config, ranks);
    }

    /**
     * The ranks the units are sharded over.
     *
     * @return at least 1
     */
    public int ranks() {
        return ranks;
    }

    /**
     * Every unit in layout order: the embedding, the layers, the tail.
     *
     * @return the units
     */
    public List<Unit> units() {
        return units;
    }

    /**
     * The embedding's unit.
     *
     * @return the first unit
     */
    public Unit embedding() {
        return units.getFirst();
    }

    /**
     * Layer {@code l}'s unit; every layer's has the same length.
     *
     * @param l the layer
     * @return its unit
     */
    public Unit layer(int l) {
        return units.get(1 + l);
    }

    /**
     * The tail's unit: the final norm and, untied, the head.
     *
     * @return the last unit
     */
    public Unit tail() {
        return units.getLast();
    }

    /**
     * Elements of a rank's shard slab: the sum of the units' shards.
     *
     * @return its length
     */
    public long shardElements() {
        return shardElements;
    }

    /**
     * The runs of {@code rank}'s shard slab that hold parameters, padding left out, in slab order.
     *
     * @param rank the rank
     * @return its spans
     */
    public List<Span> spans(int rank) {
        List<Span> spans = new ArrayList<>();
        for (Unit u : units) {
            long from = u.start() + rank * u.shard(), to = Math.min(from + u.shard(), u.start() + u.length());
            for (Map.Entry<String, long[]> e : shapes.entrySet()) {
                long start = Math.max(from, offsets.get(e.getKey()));
                long end = Math.min(to, offsets.get(e.getKey()) + Shape.of(e.getValue()).numel());
                if (start < end) {
                    spans.add(new Span(u.shardOffset() + start - from, end - start, e.getValue().length == 2));
                }
            }
        }
        return spans;
    }

    /**
     * Parameter {@code name}'s view in {@code gathered}, a buffer holding {@code unit} gathered.
     *
     * @param gathered the unit's gathered fp32 values
     * @param unit     the unit it holds
     * @param name     a parameter of the unit, by its Hugging Face name
     * @return the view
     */
    public Tensor view(Tensor gathered, Unit unit, String name) {
        long[] dims = shapes.get(name);
        long at = dims == null ? -1 : offsets.get(name) - unit.start();
        if (at < 0 || at >= unit.length()) {
            throw new IllegalArgumentException("parameter '" + name + "' is not in the unit starting at " + unit.start());
        }
        long bytes = Shape.of(dims).numel() * Float.BYTES;
        return new Tensor(gathered.data().asSlice(at * Float.BYTES, bytes), DType.F32, Shape.of(dims), gathered.placement());
    }

    /**
     * Layer 0's views in {@code gathered}: since every layer's unit is laid out alike, any layer's views once gathered.
     *
     * @param gathered a buffer holding a layer's unit
     * @return its views
     */
    public Weights.Layer layerViews(Tensor gathered) {
        Unit u = layer(0);
        String p = layerPrefix(0);
        return new Weights.Layer(view(gathered, u, p + "input_layernorm.weight"), view(gathered, u, p + "self_attn.q_proj.weight"),
                view(gathered, u, p + "self_attn.k_proj.weight"), view(gathered, u, p + "self_attn.v_proj.weight"),
                view(gathered, u, p + "self_attn.o_proj.weight"), view(gathered, u, p + "post_attention_layernorm.weight"),
                view(gathered, u, p + "mlp.gate_proj.weight"), view(gathered, u, p + "mlp.up_proj.weight"),
                view(gathered, u, p + "mlp.down_proj.weight"));
    }

    /**
     * The model laid out.
     *
     * @return its configuration
     */
    public ModelConfig config() {
        return config;
    }

    private static String layerPrefix(int l) {
        return "model.layers." + l + ".";
    }

    private static long ceil(long a, long b) {
        return (a + b - 1) / b;
    }
}
