package dev.longbow.model;

import dev.longbow.backend.AttentionParams;
import dev.longbow.backend.Backend;
import dev.longbow.backend.ModelOps;
import dev.longbow.parallel.SequenceParallelAttention;
import dev.longbow.tensor.HostAllocation;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * A Llama-style decoder on one rank: embedding, {@code layers} pre-norm blocks with rotary GQA
 * attention and a SwiGLU MLP, a final RMSNorm and the (tied or untied) output head, trained with
 * next-token cross-entropy. The rank holds a shard of the sequence; attention crosses shards
 * through the scheme, everything else is local. The weights come from a {@link ParameterStore},
 * unit by unit: replicated on every rank (the caller all-reduces {@link #grads()}), or sharded
 * over the ranks and gathered as each unit is needed ({@link ShardedParameters}).
 *
 * <p>The loss is computed {@link Activations#chunkRows()} rows at a time, forward and backward
 * of the head fused per chunk, so the logits of the whole shard never exist.
 *
 * <p>{@link Precision#BF16_MIXED}: the products read a bf16 copy of the fp32 master weights,
 * converted from them before the first forward after they may have changed (an optimizer step,
 * a checkpoint load), and accumulate in fp32; attention runs in bf16. What stays fp32, and why:
 * <ul>
 * <li>master weights, their gradients and AdamW's moments: an update is often smaller than 2^-8
 *     of its weight (lr 3e-4 on a weight of 0.1), which bf16 would round away; weight gradients
 *     are summed over every token and sequence of the batch and then all-reduced, so the
 *     products add into fp32;
 * <li>the residual stream and its gradient: each layer adds a small correction to it, which
 *     bf16 would round away; it costs 2 bytes per element more for {@code x} and {@code h} only;
 * <li>the norms (statistics, rstd and output before rounding), the softmax's log-sum-exp, the
 *     cross-entropy (computed in fp32 from the bf16 logits) and the losses: sums over a row,
 *     where bf16 errors grow with the row's length.
 * </ul>
 */
public final class Llama implements AutoCloseable {
    private final ModelConfig config;
    private final Backend backend;
    private final ModelOps ops;
    private final ParameterStore store;
    private final Activations acts;
    private final DecoderLayer block;
    private final boolean[] recompute;
    private final SequenceParallelAttention.Saved[] saved;
    private final long seq;
    private boolean[] chunkHasTargets;
    private HostAllocation staging;

    /**
     * A model with replicated parameters ({@link ReplicatedParameters}).
     *
     * @param precision what the products and attention compute in; the attention scheme must be built for its dtype
     * @param seq       tokens of the shard this rank holds
     * @param chunkRows rows of logits computed at once
     * @param recompute per layer: keep only its input and recompute the rest in backward
     */
    public Llama(ModelConfig config, Precision precision, Backend backend, SequenceParallelAttention attention, long seq,
                 int chunkRows, boolean[] recompute) {
        this(config, precision, backend, attention, seq, chunkRows, recompute, new ReplicatedParameters(config, precision, backend));
    }

    /**
     * A model computing with {@code store}'s weights, which it owns from here (closing the model closes it).
     *
     * @param precision what the products and attention compute in: the store's too
     * @param seq       tokens of the shard this rank holds
     * @param chunkRows rows of logits computed at once
     * @param recompute per layer: keep only its input and recompute the rest in backward
     * @param store     where the weights come from and the gradients go
     */
    public Llama(ModelConfig config, Precision precision, Backend backend, SequenceParallelAttention attention, long seq,
                 int chunkRows, boolean[] recompute, ParameterStore store) {
        this.config = config;
        this.backend = backend;
        this.ops = backend.model();
        this.seq = seq;
        this.recompute = recompute.clone();
        this.store = store;
        this.acts = new Activations(config, precision, seq, chunkRows, recompute, backend);
        this.block = new DecoderLayer(config, backend, attention, acts);
        this.saved = new SequenceParallelAttention.Saved[config.layers()];
    }

    /** The attention parameters every scheme of this model uses: causal, scaled by 1/sqrt(headDim). */
    public static AttentionParams attentionParams(ModelConfig config) {
        return AttentionParams.of(config.headDim(), true);
    }

    /**
     * The model's shape.
     *
     * @return its configuration
     */
    public ModelConfig config() {
        return config;
    }

    /**
     * The fp32 master weights of a replicated model ({@link ReplicatedParameters#params()}).
     *
     * @return the weights
     * @throws IllegalStateException when the parameters are sharded: no rank holds them whole
     */
    public Weights params() {
        return replicated().params();
    }

    /**
     * The weight gradients a replicated model's backward accumulates (fp32).
     *
     * @return the gradients
     * @throws IllegalStateException when the parameters are sharded
     */
    public Weights grads() {
        return replicated().grads();
    }

    private ReplicatedParameters replicated() {
        if (store instanceof ReplicatedParameters r) {
            return r;
        }
        throw new IllegalStateException("the parameters are sharded over the ranks: no rank holds them whole");
    }

    /** Bytes of the store's slabs (parameters, their compute copy, gradients) and the activation slab. */
    public long bufferBytes() {
        return store.bufferBytes() + acts.byteSize();
    }

    /**
     * Loads this rank's shard: token ids, next-token targets (-1: no loss) and global positions.
     */
    public void load(int[] tokens, int[] targets, int[] positions) {
        if (tokens.length != seq || targets.length != seq || positions.length != seq) {
            throw new IllegalArgumentException("shard of " + seq + " tokens expected, got " + tokens.length + "/"
                    + targets.length + "/" + positions.length);
        }
        upload(tokens, acts.tokens());
        upload(targets, acts.targets());
        upload(positions, acts.positions());
        int chunk = acts.chunkRows();
        chunkHasTargets = new boolean[(int) ((seq + chunk - 1) / chunk)];
        for (int i = 0; i < seq; i++) {
            chunkHasTargets[i / chunk] |= targets[i] >= 0;
        }
    }

    /**
     * Forward and backward over the loaded shard: parameter gradients, scaled by
     * {@code gradScale} (1 / targets in the whole batch, for a mean loss), are added to
     * {@link #grads()}. Returns the sum of this shard's token losses.
     */
    public double forwardBackward(float gradScale) {
        forward(true);
        double loss = head(gradScale, true);
        Activations.Grads d = acts.grads();
        for (int l = config.layers() - 1; l >= 0; l--) {
            Activations.Layer a = acts.layer(l);
            Weights.Layer w = store.layer(l);
            SequenceParallelAttention.Saved s = recompute[l] ? block.forward(w, a, acts.positions()) : saved[l];
            saved[l] = null;
            try (s) {
                block.backward(w, store.layerGrads(l), a, d, s, acts.positions());
            }
            store.layerGradsDone(l);
        }
        ops.embeddingBackward(acts.tokens(), d.dx(), store.embeddingGrads());
        store.embeddingGradsDone();
        return loss;
    }

    /** Forward only: the sum of this shard's token losses. */
    public double forwardLoss() {
        forward(false);
        return head(0f, false);
    }

    /**
     * Forward only, then the most likely next token at every row that has a target, in row
     * order: for accuracy on tasks whose answer is a few tokens.
     */
    public int[] predictAtTargets() {
        forward(false);
        ParameterStore.Tail tail = store.tail();
        block.rmsNorm(acts.layer(config.layers() - 1).out(), tail.finalNorm(), acts.finalNorm(), acts.finalRstd());
        int[] targets = download(acts.targets());
        List<Integer> predictions = new ArrayList<>();
        forEachChunk(tail.head(), (r0, rows, logits) -> {
            Tensor host = hostView(logits);
            for (int r = 0; r < rows; r++) {
                if (targets[r0 + r] >= 0) {
                    predictions.add(argmax(host, r));
                }
            }
        });
        return predictions.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Sets every weight gradient this rank keeps to zero, before a step's first micro-batch. */
    public void zeroGrads() {
        store.zeroGrads();
    }

    private void forward(boolean keepForBackward) {
        // The residual stream starts in fp32 from the fp32 table, as autocast leaves an embedding.
        ops.embeddingForward(store.embedding(), acts.tokens(), acts.layer(0).x());
        for (int l = 0; l < config.layers(); l++) {
            SequenceParallelAttention.Saved s = block.forward(store.layer(l), acts.layer(l), acts.positions());
            if (keepForBackward && !recompute[l]) {
                saved[l] = s;
            } else {
                s.close();
            }
        }
    }

    /** Final norm, head and cross-entropy chunk by chunk; with {@code backward}, leaves dL/dx in grads().dx(). */
    private double head(float gradScale, boolean backward) {
        Tensor x = acts.layer(config.layers() - 1).out();
        Tensor n = acts.finalNorm();
        Activations.Grads d = acts.grads();
        ParameterStore.Tail tail = store.tail();
        ParameterStore.Tail grads = backward ? store.tailGrads() : null;
        block.rmsNorm(x, tail.finalNorm(), n, acts.finalRstd());
        backend.tensors().fill(acts.losses(), 0f);
        if (backward) {
            backend.tensors().fill(d.dn(), 0f);
        }
        forEachChunk(tail.head(), (r0, rows, logits) -> {
            ops.crossEntropy(logits, acts.targets().rows(r0, rows), acts.losses().rows(r0, rows), gradScale);
            if (backward) {
                ops.headBackward(logits, tail.head(), n.rows(r0, rows), d.dn().rows(r0, rows), grads.head());
            }
        });
        if (backward) {
            ops.rmsNormBackward(x, tail.finalNorm(), acts.finalRstd(), d.dn(), d.dx(), grads.finalNorm());
            store.tailGradsDone();
        }
        Tensor losses = hostView(acts.losses());
        double sum = 0;
        for (long i = 0; i < seq; i++) {
            sum += losses.getFloat(i);
        }
        return sum;
    }

    @FunctionalInterface
    private interface ChunkTask {
        void run(int firstRow, int rows, Tensor logits);
    }

    /** Computes the logits of every chunk that carries a target with {@code head} and hands them to {@code task}. */
    private void forEachChunk(Tensor head, ChunkTask task) {
        int chunk = acts.chunkRows();
        for (int c = 0; c < chunkHasTargets.length; c++) {
            if (!chunkHasTargets[c]) {
                continue; // no target: zero loss and zero gradient, nothing to compute
            }
            int r0 = c * chunk, rows = (int) Math.min(chunk, seq - r0);
            Tensor logits = acts.logits().rows(0, rows);
            ops.matmul(acts.finalNorm().rows(r0, rows), false, head, true, logits, 1, 0);
            task.run(r0, rows, logits);
        }
    }

    private static int argmax(Tensor logits, int row) {
        long vocab = logits.dim(1);
        int best = 0;
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            float v = logits.getFloat(row * vocab + i);
            if (v > max) {
                max = v;
                best = i;
            }
        }
        return best;
    }

    private void upload(int[] values, Tensor dst) {
        Tensor host = dst.placement() == Placement.HOST ? dst : stagingFor(dst);
        if (host == dst) {
            backend.synchronize(); // the host may touch a backend's HOST tensors only when its work has finished
        }
        for (int i = 0; i < values.length; i++) {
            host.setInt(i, values[i]);
        }
        if (host != dst) {
            backend.tensors().copy(host, dst);
        }
    }

    private int[] download(Tensor src) {
        Tensor host = hostView(src);
        int[] out = new int[(int) src.numel()];
        for (int i = 0; i < out.length; i++) {
            out[i] = host.getInt(i);
        }
        return out;
    }

    /** {@code t} itself on a host backend, else a host copy of it (valid until the next call). */
    private Tensor hostView(Tensor t) {
        if (t.placement() == Placement.HOST) {
            backend.synchronize(); // an asynchronous backend (tornado) may still be writing t
            return t;
        }
        Tensor host = stagingFor(t);
        backend.tensors().copy(t, host);
        return host;
    }

    private Tensor stagingFor(Tensor t) {
        if (staging == null || staging.segment().byteSize() < t.byteSize()) {
            if (staging != null) {
                staging.close();
            }
            staging = new HostAllocation(Math.max(t.byteSize(), acts.logits().byteSize()));
        }
        return new Tensor(staging.segment().asSlice(0, t.byteSize()), t.dtype(), Shape.of(t.shape().toArray()), Placement.HOST);
    }

    @Override
    public void close() {
        for (int l = 0; l < saved.length; l++) {
            if (saved[l] != null) {
                saved[l].close();
                saved[l] = null;
            }
        }
        if (staging != null) {
            staging.close();
        }
        acts.close();
        store.close();
    }
}
