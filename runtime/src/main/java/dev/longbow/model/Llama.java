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
 * through the scheme, everything else is local. Parameters are replicated on every rank: the
 * caller all-reduces {@link #grads()}.
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
    private final Weights params;
    /** What the products read: {@code params} itself in fp32, its bf16 copy in mixed precision. */
    private final Weights compute;
    /** Per layer: the compute copy's matrices with the master's gains (the norm kernels read fp32 gains). */
    private final Weights.Layer[] layerWeights;
    private boolean computeStale = true;
    private final Weights grads;
    private final Activations acts;
    private final DecoderLayer block;
    private final boolean[] recompute;
    private final SequenceParallelAttention.Saved[] saved;
    private final long seq;
    private boolean[] chunkHasTargets;
    private HostAllocation staging;

    /**
     * @param precision what the products and attention compute in; the attention scheme must be built for its dtype
     * @param seq       tokens of the shard this rank holds
     * @param chunkRows rows of logits computed at once
     * @param recompute per layer: keep only its input and recompute the rest in backward
     */
    public Llama(ModelConfig config, Precision precision, Backend backend, SequenceParallelAttention attention, long seq,
                 int chunkRows, boolean[] recompute) {
        this.config = config;
        this.backend = backend;
        this.ops = backend.model();
        this.seq = seq;
        this.recompute = recompute.clone();
        this.params = Weights.allocate(config, backend);
        this.compute = precision == Precision.F32 ? params : Weights.allocate(config, backend, precision.compute());
        this.layerWeights = new Weights.Layer[config.layers()];
        for (int l = 0; l < config.layers(); l++) {
            Weights.Layer m = params.layer(l);
            Weights.Layer c = compute.layer(l);
            layerWeights[l] = new Weights.Layer(m.attnNorm(), c.wq(), c.wk(), c.wv(), c.wo(), m.mlpNorm(), c.wGate(), c.wUp(),
                    c.wDown());
        }
        this.grads = Weights.allocate(config, backend);
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
     * The fp32 master weights. Whoever takes them may change them (initialise, load, update), so
     * the compute copy is converted from them again before the next forward.
     */
    public Weights params() {
        computeStale = true;
        return params;
    }

    /**
     * The weight gradients backward accumulates (fp32).
     *
     * @return the gradients
     */
    public Weights grads() {
        return grads;
    }

    /** Bytes of the parameter (with its compute copy), gradient and activation slabs. */
    public long bufferBytes() {
        return params.flat().byteSize() + (compute != params ? compute.flat().byteSize() : 0) + grads.flat().byteSize()
                + acts.byteSize();
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
            SequenceParallelAttention.Saved s = recompute[l] ? block.forward(layerWeights[l], a, acts.positions()) : saved[l];
            saved[l] = null;
            try (s) {
                block.backward(layerWeights[l], grads.layer(l), a, d, s, acts.positions());
            }
        }
        ops.embeddingBackward(acts.tokens(), d.dx(), grads.embedding());
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
        block.rmsNorm(acts.layer(config.layers() - 1).out(), params.finalNorm(), acts.finalNorm(), acts.finalRstd());
        int[] targets = download(acts.targets());
        List<Integer> predictions = new ArrayList<>();
        forEachChunk((r0, rows, logits) -> {
            Tensor host = hostView(logits);
            for (int r = 0; r < rows; r++) {
                if (targets[r0 + r] >= 0) {
                    predictions.add(argmax(host, r));
                }
            }
        });
        return predictions.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Sets every weight gradient to zero, before a step's first micro-batch. */
    public void zeroGrads() {
        backend.tensors().fill(grads.flat(), 0f);
    }

    private void forward(boolean keepForBackward) {
        if (computeStale && compute != params) {
            compute.convertFrom(params, backend.tensors());
        }
        computeStale = false;
        // The residual stream starts in fp32 from the fp32 table, as autocast leaves an embedding.
        ops.embeddingForward(params.embedding(), acts.tokens(), acts.layer(0).x());
        for (int l = 0; l < config.layers(); l++) {
            SequenceParallelAttention.Saved s = block.forward(layerWeights[l], acts.layer(l), acts.positions());
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
        block.rmsNorm(x, params.finalNorm(), n, acts.finalRstd());
        backend.tensors().fill(acts.losses(), 0f);
        if (backward) {
            backend.tensors().fill(d.dn(), 0f);
        }
        forEachChunk((r0, rows, logits) -> {
            ops.crossEntropy(logits, acts.targets().rows(r0, rows), acts.losses().rows(r0, rows), gradScale);
            if (backward) {
                ops.matmul(logits, false, compute.head(), false, d.dn().rows(r0, rows), 1, 0);
                ops.matmul(logits, true, n.rows(r0, rows), false, grads.head(), 1, 1);
            }
        });
        if (backward) {
            ops.rmsNormBackward(x, params.finalNorm(), acts.finalRstd(), d.dn(), d.dx(), grads.finalNorm());
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

    /** Computes the logits of every chunk that carries a target and hands them to {@code task}. */
    private void forEachChunk(ChunkTask task) {
        int chunk = acts.chunkRows();
        for (int c = 0; c < chunkHasTargets.length; c++) {
            if (!chunkHasTargets[c]) {
                continue; // no target: zero loss and zero gradient, nothing to compute
            }
            int r0 = c * chunk, rows = (int) Math.min(chunk, seq - r0);
            Tensor logits = acts.logits().rows(0, rows);
            ops.matmul(acts.finalNorm().rows(r0, rows), false, compute.head(), true, logits, 1, 0);
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
        grads.close();
        if (compute != params) {
            compute.close();
        }
        params.close();
    }
}
