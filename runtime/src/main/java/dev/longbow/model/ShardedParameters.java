package dev.longbow.model;

import dev.longbow.backend.Backend;
import dev.longbow.backend.TensorOps;
import dev.longbow.comm.Communicator;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Model states sharded over the ranks, FSDP style (ZeRO-3): each rank keeps its shard of every
 * unit's fp32 master weights and gradients ({@link UnitLayout}); a unit is all-gathered into a
 * unit-sized buffer just before it is computed with (its forward, and again its backward with any
 * recomputation), and when its backward is done its gradient buffer is reduce-scattered and the
 * rank's part added to its gradient shard, so micro-batches accumulate. One buffer serves every
 * decoder layer (they all have the same shape); the embedding and the tail have their own, since
 * a tied head is the embedding and its gradient adds up from the head's backward to the
 * embedding's.
 *
 * <p>In mixed precision the units are gathered in fp32 and converted locally into a compute
 * copy of the matrices: the norm kernels read fp32 gains, and one fp32 gather is simpler than a
 * bf16 gather of the matrices beside an fp32 one of the gains. That puts 4 bytes per parameter on
 * the wire per gather instead of 2; the planner prices it so.
 */
public final class ShardedParameters implements ParameterStore {
    /** Every layer's unit is laid out as layer 0's: its views, gathered, go by layer 0's names. */
    private static final String LAYER = "model.layers.0.";

    private final ModelConfig config;
    private final UnitLayout layout;
    private final Backend backend;
    private final TensorOps tensors;
    private final Communicator comm;
    private final Slab slab;
    private final Weights.Layer gatheredLayer;
    private final Weights.Layer layerForCompute;
    private final Weights.Layer layerGrads;
    private final Tensor head;
    private final Tensor headForCompute;
    /** In mixed precision the gathered layer's matrices, and their compute copies at the same index; else empty. */
    private final List<Tensor> toConvert = new ArrayList<>();
    private final List<Tensor> converted = new ArrayList<>();

    /**
     * Zeroed shards of {@code config}'s states for {@code comm}'s rank, sharded over its ranks, and the unit buffers.
     *
     * @param precision what the products compute in: unless fp32, gathered matrices are converted to it
     */
    public ShardedParameters(ModelConfig config, Precision precision, Backend backend, Communicator comm) {
        this.config = config;
        this.layout = UnitLayout.of(config, comm.size());
        this.backend = backend;
        this.tensors = backend.tensors();
        this.comm = comm;
        List<String> names = new ArrayList<>();
        this.slab = declare(layout, precision, names).allocate(backend::allocate);
        for (String name : names) {
            tensors.fill(slab.get(name), 0f);
        }
        this.gatheredLayer = layout.layerViews(slab.get("layer"));
        this.layerGrads = layout.layerViews(slab.get("layer.grads"));
        this.head = config.tied() ? layout.view(slab.get("embedding"), layout.embedding(), "model.embed_tokens.weight")
                : layout.view(slab.get("tail"), layout.tail(), "lm_head.weight");
        if (precision == Precision.F32) {
            this.layerForCompute = gatheredLayer;
            this.headForCompute = head;
        } else {
            // the compute copy's matrices are declared under layer 0's names: the norm gains stay the gathered fp32 ones
            Weights.Layer g = gatheredLayer;
            this.layerForCompute = new Weights.Layer(g.attnNorm(), slab.get(LAYER + "self_attn.q_proj.weight"),
                    slab.get(LAYER + "self_attn.k_proj.weight"), slab.get(LAYER + "self_attn.v_proj.weight"),
                    slab.get(LAYER + "self_attn.o_proj.weight"), g.mlpNorm(), slab.get(LAYER + "mlp.gate_proj.weight"),
                    slab.get(LAYER + "mlp.up_proj.weight"), slab.get(LAYER + "mlp.down_proj.weight"));
            this.headForCompute = slab.get("head.compute");
            for (String name : layerMatrices(config).keySet()) {
                toConvert.add(layout.view(slab.get("layer"), layout.layer(0), name));
                converted.add(slab.get(name));
            }
        }
    }

    /**
     * What a rank of {@code config} sharded over {@code ranks} ranks allocates here, before allocating it.
     *
     * @param config    the model
     * @param precision what it computes in
     * @param ranks     the ranks sharing the states
     * @return bytes of the shards and the unit buffers
     */
    public static long byteSize(ModelConfig config, Precision precision, int ranks) {
        return declare(UnitLayout.of(config, ranks), precision, new ArrayList<>()).byteSize();
    }

    /** Declares the shard slabs and unit buffers in {@code names} and the returned builder. */
    private static Slab.Builder declare(UnitLayout layout, Precision precision, List<String> names) {
        ModelConfig c = layout.config();
        int ranks = layout.ranks();
        long maxShard = layout.units().stream().mapToLong(UnitLayout.Unit::shard).max().orElseThrow();
        Map<String, long[]> fp32 = new LinkedHashMap<>();
        fp32.put("master", new long[] {layout.shardElements()});
        fp32.put("grads", new long[] {layout.shardElements()});
        // one gathered-weights and one gradient buffer each for the embedding, every layer (alike), the tail
        Map<String, UnitLayout.Unit> buffers = new LinkedHashMap<>();
        buffers.put("embedding", layout.embedding());
        buffers.put("layer", layout.layer(0));
        buffers.put("tail", layout.tail());
        buffers.forEach((kind, unit) -> {
            fp32.put(kind, new long[] {unit.padded(ranks)});
            fp32.put(kind + ".grads", new long[] {unit.padded(ranks)});
        });
        fp32.put("scattered", new long[] {maxShard});
        Slab.Builder b = Slab.builder();
        fp32.forEach((name, dims) -> b.add(name, DType.F32, dims));
        names.addAll(fp32.keySet());
        if (precision != Precision.F32) {
            Map<String, long[]> low = layerMatrices(c);
            low.put("head.compute", new long[] {c.vocab(), c.dim()});
            low.forEach((name, dims) -> b.add(name, precision.compute(), dims));
            names.addAll(low.keySet());
        }
        return b;
    }

    /**
     * How the states are cut into units and shards.
     *
     * @return the layout
     */
    public UnitLayout layout() {
        return layout;
    }

    /**
     * This rank's shard slab of the fp32 master weights.
     *
     * @return {@code [layout().shardElements()]}
     */
    public Tensor master() {
        return slab.get("master");
    }

    /**
     * This rank's shard slab of the fp32 gradients, summed over the ranks and the step's micro-batches.
     *
     * @return {@code [layout().shardElements()]}
     */
    public Tensor grads() {
        return slab.get("grads");
    }

    /**
     * Gathers {@code shards}, a shard slab (the master weights, or a moment laid out alike), from
     * every rank into {@code whole}, unit by unit: a collective. Ranks passing null for
     * {@code whole} take part without keeping the result.
     *
     * @param shards this rank's shard slab
     * @param whole  where the whole state goes (host or this backend's memory), or null
     */
    public void gather(Tensor shards, Weights whole) {
        for (UnitLayout.Unit u : layout.units()) {
            Tensor buffer = gatherBuffer(u);
            comm.allGather(shards.rows(u.shardOffset(), u.shard()), buffer);
            if (whole != null) {
                tensors.copy(buffer.rows(0, u.length()), whole.flat().rows(u.start(), u.length()));
            }
        }
        backend.synchronize(); // the copies into whole have landed when this returns
    }

    /**
     * Sets {@code shards} to this rank's shard of rank 0's {@code whole}, unit by unit: a
     * collective, the inverse of {@link #gather}. Rank 0's values reach the others through each
     * unit's buffer, summed with their zeros (an all-reduce as a broadcast: adding zeros is exact),
     * so only rank 0 needs the whole state in memory.
     *
     * @param whole  on rank 0 the whole state, laid out like the parameters; null on the others
     * @param shards this rank's shard slab to fill
     */
    public void scatterFromRankZero(Weights whole, Tensor shards) {
        if ((whole != null) != (comm.rank() == 0)) {
            throw new IllegalArgumentException("rank " + comm.rank() + (whole == null ? " has no" : " has a") + " whole state to "
                    + "scatter; rank 0, and only rank 0, must have one");
        }
        for (UnitLayout.Unit u : layout.units()) {
            Tensor buffer = gatherBuffer(u);
            tensors.fill(buffer, 0f);
            if (whole != null) {
                tensors.copy(whole.flat().rows(u.start(), u.length()), buffer.rows(0, u.length()));
            }
            comm.allReduce(buffer);
            tensors.copy(buffer.rows(comm.rank() * u.shard(), u.shard()), shards.rows(u.shardOffset(), u.shard()));
        }
        backend.synchronize(); // whole may be freed when this returns
    }

    @Override
    public Tensor embedding() {
        gather(layout.embedding());
        return layout.view(slab.get("embedding"), layout.embedding(), "model.embed_tokens.weight");
    }

    @Override
    public Weights.Layer layer(int l) {
        gather(layout.layer(l));
        for (int i = 0; i < toConvert.size(); i++) {
            tensors.convert(toConvert.get(i), converted.get(i));
        }
        return layerForCompute;
    }

    @Override
    public Tail tail() {
        gather(layout.tail());
        if (config.tied()) {
            gather(layout.embedding());
        }
        if (headForCompute != head) {
            tensors.convert(head, headForCompute);
        }
        return new Tail(layout.view(slab.get("tail"), layout.tail(), "model.norm.weight"), headForCompute);
    }

    @Override
    public Tensor embeddingGrads() {
        return layout.view(slab.get("embedding.grads"), layout.embedding(), "model.embed_tokens.weight");
    }

    @Override
    public Weights.Layer layerGrads(int l) {
        return layerGrads;
    }

    @Override
    public Tail tailGrads() {
        Tensor finalNorm = layout.view(slab.get("tail.grads"), layout.tail(), "model.norm.weight");
        return new Tail(finalNorm, config.tied() ? embeddingGrads() : layout.view(slab.get("tail.grads"), layout.tail(), "lm_head.weight"));
    }

    @Override
    public void zeroGrads() {
        tensors.fill(grads(), 0f);
    }

    @Override
    public void embeddingGradsDone() {
        reduceScatter(layout.embedding());
    }

    @Override
    public void layerGradsDone(int l) {
        reduceScatter(layout.layer(l));
    }

    @Override
    public void tailGradsDone() {
        reduceScatter(layout.tail());
    }

    @Override
    public long bufferBytes() {
        return slab.byteSize();
    }

    /** All-gathers {@code unit}'s master shards into its buffer. */
    private void gather(UnitLayout.Unit unit) {
        comm.allGather(master().rows(unit.shardOffset(), unit.shard()), gatherBuffer(unit));
    }

    /** Sums {@code unit}'s gradient buffer over the ranks into this rank's gradient shard, and zeroes the buffer for the next backward. */
    private void reduceScatter(UnitLayout.Unit unit) {
        Tensor buffer = slab.get(kind(unit) + ".grads");
        Tensor mine = slab.get("scattered").rows(0, unit.shard());
        comm.reduceScatter(buffer, mine);
        tensors.axpy(1f, mine, grads().rows(unit.shardOffset(), unit.shard()));
        tensors.fill(buffer, 0f);
    }

    private Tensor gatherBuffer(UnitLayout.Unit unit) {
        return slab.get(kind(unit));
    }

    /** Which of the three buffers holds {@code unit}. */
    private String kind(UnitLayout.Unit unit) {
        return unit == layout.embedding() ? "embedding" : unit == layout.tail() ? "tail" : "layer";
    }

    /** Layer 0's matrices (not its gains) by name, in slab order. */
    private static Map<String, long[]> layerMatrices(ModelConfig c) {
        Map<String, long[]> matrices = new LinkedHashMap<>();
        Weights.shapes(c).forEach((name, dims) -> {
            if (name.startsWith(LAYER) && dims.length == 2) {
                matrices.put(name, dims);
            }
        });
        return matrices;
    }

    @Override
    public void close() {
        slab.close();
    }
}
