package dev.longbow.train;

import dev.longbow.backend.AdamWStep;
import dev.longbow.backend.Backend;
import dev.longbow.checkpoint.Checkpoint;
import dev.longbow.comm.Communicator;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.Precision;
import dev.longbow.model.ShardedParameters;
import dev.longbow.model.UnitLayout;
import dev.longbow.model.Weights;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.DoubleUnaryOperator;

/**
 * Each rank keeps its shard of every unit of the state ({@link ShardedParameters}): the
 * gradients arrive summed over the ranks during backward (each unit's reduce-scatter), the norm
 * sums the shards' squares over the ranks, and AdamW updates the rank's shard only.
 *
 * <p>Checkpoints keep today's format, the whole state under the parameters' names, so a run
 * can resume sharded or replicated from either. For now the whole state passes through rank 0's
 * host memory: gathered there to save, read there to load and broadcast unit by unit
 * ({@link ShardedParameters#scatterFromRankZero}); 12 bytes a parameter for as long as the save
 * or load takes, 4 for the initial draw (the replicated run's values) or the weights a run starts
 * from. The other ranks hold no more than their shards and unit buffers.
 */
final class ShardedStates implements ModelStates {
    private final ModelConfig config;
    private final Backend backend;
    private final Communicator comm;
    private final ShardedParameters params;
    private final Slab moments;
    private final List<UnitLayout.Span> spans;
    private final DoubleUnaryOperator sumOverRanks;

    /**
     * @param sumOverRanks sums a per-rank value over the ranks, the same result on every rank
     */
    ShardedStates(ModelConfig config, Precision precision, Backend backend, Communicator comm, DoubleUnaryOperator sumOverRanks) {
        this.config = config;
        this.backend = backend;
        this.comm = comm;
        this.params = new ShardedParameters(config, precision, backend, comm);
        long elements = params.layout().shardElements();
        this.moments = Slab.builder().add("m", DType.F32, elements).add("v", DType.F32, elements).allocate(backend::allocate);
        backend.tensors().fill(moments.get("m"), 0f);
        backend.tensors().fill(moments.get("v"), 0f);
        this.spans = params.layout().spans(comm.rank());
        this.sumOverRanks = sumOverRanks;
    }

    /**
     * Bytes of a rank's two moment shards of {@code config} sharded over {@code ranks} ranks, before allocating them.
     *
     * @param config the model
     * @param ranks  the ranks sharing the states
     * @return the moments' size
     */
    static long momentBytes(ModelConfig config, int ranks) {
        return 2 * UnitLayout.of(config, ranks).shardElements() * Float.BYTES;
    }

    @Override
    public ShardedParameters store() {
        return params;
    }

    @Override
    public void initialize(long seed) {
        try (Weights whole = onRankZero()) {
            if (whole != null) {
                whole.initialize(seed, backend);
            }
            params.scatterFromRankZero(whole, params.master());
        }
    }

    @Override
    public void initializeFrom(InitialWeights initial) throws Exception {
        try (Weights whole = onRankZero()) {
            if (whole != null) {
                initial.copyInto(whole, backend);
            }
            params.scatterFromRankZero(whole, params.master());
        }
    }

    @Override
    public void sumGradients() {
        // each unit's gradients were reduce-scattered into the shards as its backward finished
    }

    @Override
    public double gradientNorm() {
        return Math.sqrt(sumOverRanks.applyAsDouble(backend.tensors().sumOfSquares(params.grads())));
    }

    @Override
    public void scaleGradients(float factor) {
        backend.tensors().scale(params.grads(), factor);
    }

    @Override
    public void update(OptimizerConfig o, float lr, int step) {
        Tensor p = params.master(), g = params.grads(), m = moments.get("m"), v = moments.get("v");
        for (UnitLayout.Span s : spans) {
            float decay = s.decayed() ? o.weightDecay() : 0f;
            backend.model().adamw(p.rows(s.offset(), s.length()), g.rows(s.offset(), s.length()), m.rows(s.offset(), s.length()),
                    v.rows(s.offset(), s.length()), new AdamWStep(lr, o.beta1(), o.beta2(), o.eps(), decay, step));
        }
    }

    @Override
    public void withWholeState(Consumer<Checkpoint.State> onRankZero) {
        try (Weights p = onRankZero(); Weights m = onRankZero(); Weights v = onRankZero()) {
            params.gather(params.master(), p);
            params.gather(moments.get("m"), m);
            params.gather(moments.get("v"), v);
            if (p != null) {
                onRankZero.accept(new Checkpoint.State(p, m, v));
            }
        }
    }

    @Override
    public void load(Path checkpoint) throws IOException {
        try (Weights p = onRankZero(); Weights m = onRankZero(); Weights v = onRankZero()) {
            if (p != null) {
                Checkpoint.load(checkpoint, new Checkpoint.State(p, m, v), backend);
            }
            params.scatterFromRankZero(p, params.master());
            params.scatterFromRankZero(m, moments.get("m"));
            params.scatterFromRankZero(v, moments.get("v"));
        }
    }

    /** Zeroed whole fp32 weights in host memory on rank 0, where the whole state passes; null on the other ranks. */
    private Weights onRankZero() {
        return comm.rank() == 0 ? Weights.allocateOnHost(config) : null;
    }

    @Override
    public long momentBytes() {
        return moments.byteSize();
    }

    @Override
    public void close() {
        moments.close();
    }
}
