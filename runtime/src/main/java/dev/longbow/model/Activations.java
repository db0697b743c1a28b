package dev.longbow.model;

import dev.longbow.backend.Backend;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;

/**
 * One rank's activation memory for one sequence shard of {@code seq} tokens, in one slab: what
 * forward keeps for backward, the gradients that flow back through one layer at a time, and one
 * chunk of logits. A layer marked for recomputation keeps only its input; its internals live in
 * a single shared work set, refilled when backward reaches it.
 *
 * <p>Matrix-product inputs and outputs other than the residual stream, attention's tensors and
 * the logits are in the precision's compute dtype; the residual stream ({@code x}, {@code h})
 * and its gradient, the norms' inputs of backward, rstd, lse and the losses are fp32 always.
 */
public final class Activations implements AutoCloseable {
    private final Slab slab;
    private final Layer[] layers;
    private final int chunkRows;

    /** What one layer's forward leaves behind; {@code x} is its input, {@code out} the next layer's input. */
    public record Layer(Tensor x, Tensor n1, Tensor rstd1, Tensor q, Tensor k, Tensor v, Tensor att, Tensor lse,
                        Tensor h, Tensor n2, Tensor rstd2, Tensor gate, Tensor up, Tensor act, Tensor out) {
    }

    /**
     * Gradients flowing back through a layer; {@code dx} is the residual stream's gradient (fp32),
     * {@code dxLow} its copy in the compute dtype that the matrix products read ({@code dx} itself in fp32).
     */
    public record Grads(Tensor dx, Tensor dxLow, Tensor dn, Tensor dtmp, Tensor dq, Tensor dk, Tensor dv, Tensor datt,
                        Tensor dgate, Tensor dup, Tensor dact) {
    }

    private final Grads grads;

    /**
     * Allocates one rank's activations for a shard of {@code seq} tokens in {@code backend}'s memory.
     *
     * @param c         the model
     * @param precision what the activations are stored in
     * @param seq       the rank's tokens
     * @param chunkRows rows of logits computed at once
     * @param recompute per layer, whether its activations are recomputed in backward rather than kept
     * @param backend   where they live
     */
    public Activations(ModelConfig c, Precision precision, long seq, int chunkRows, boolean[] recompute, Backend backend) {
        if (recompute.length != c.layers()) {
            throw new IllegalArgumentException("recompute flags for " + recompute.length + " layers, model has " + c.layers());
        }
        this.chunkRows = (int) Math.min(chunkRows, seq);
        boolean mixed = precision.compute() != DType.F32;
        this.slab = declare(c, precision, seq, this.chunkRows, recompute).allocate(backend::allocate);
        this.layers = new Layer[c.layers()];
        for (int l = 0; l < c.layers(); l++) {
            String p = recompute[l] ? "work." : "layer." + l + ".";
            layers[l] = new Layer(slab.get("x." + l), t(p + "n1"), t(p + "rstd1"), t(p + "q"), t(p + "k"), t(p + "v"),
                    t(p + "att"), t(p + "lse"), t(p + "h"), t(p + "n2"), t(p + "rstd2"), t(p + "gate"), t(p + "up"),
                    t(p + "act"), slab.get("x." + (l + 1)));
        }
        this.grads = new Grads(t("d.x"), mixed ? t("d.xLow") : t("d.x"), t("d.n"), t("d.tmp"), t("d.q"), t("d.k"), t("d.v"),
                t("d.att"), t("d.gate"), t("d.up"), t("d.act"));
    }

    /** Bytes of the activation slab for this model, precision, shard length, chunk and recomputation, before allocating it. */
    public static long byteSize(ModelConfig c, Precision precision, long seq, int chunkRows, boolean[] recompute) {
        return declare(c, precision, seq, (int) Math.min(chunkRows, seq), recompute).byteSize();
    }

    private static Slab.Builder declare(ModelConfig c, Precision precision, long seq, int chunkRows, boolean[] recompute) {
        DType low = precision.compute();
        Slab.Builder b = Slab.builder();
        for (String n : new String[]{"tokens", "targets", "positions"}) {
            b.add(n, DType.I32, seq);
        }
        for (int l = 0; l <= c.layers(); l++) {
            b.add("x." + l, DType.F32, seq, c.dim());
        }
        boolean anyRecomputed = false;
        for (int l = 0; l < c.layers(); l++) {
            if (recompute[l]) {
                anyRecomputed = true;
            } else {
                declareInternals(b, "layer." + l + ".", c, low, seq);
            }
        }
        if (anyRecomputed) {
            declareInternals(b, "work.", c, low, seq);
        }
        // The logits are bf16 in mixed precision, as autocast leaves them: the cross-entropy reads
        // them in fp32 and writes its gradient over them for the two bf16 products of the head.
        b.add("final.n", low, seq, c.dim()).add("final.rstd", DType.F32, seq)
                .add("logits", low, chunkRows, c.vocab()).add("losses", DType.F32, seq);
        // dn sums two or three matrix products (the MLP's, q/k/v's, the head's chunks) in fp32; the
        // norms' backward reads it, x and h in fp32 and writes dtmp for the fp32 residual gradient.
        b.add("d.x", DType.F32, seq, c.dim()).add("d.n", DType.F32, seq, c.dim()).add("d.tmp", DType.F32, seq, c.dim())
                .add("d.q", low, seq, c.qDim()).add("d.k", low, seq, c.kvDim()).add("d.v", low, seq, c.kvDim())
                .add("d.att", low, seq, c.qDim()).add("d.gate", low, seq, c.ffnHidden())
                .add("d.up", low, seq, c.ffnHidden()).add("d.act", low, seq, c.ffnHidden());
        if (low != DType.F32) {
            // A norm's fp32 output before it is rounded to the compute dtype; dx rounded for the products.
            b.add("norm.staging", DType.F32, seq, c.dim()).add("d.xLow", low, seq, c.dim());
        }
        return b;
    }

    /** One layer's internals: the residual {@code h} and the statistics fp32, the rest in {@code low}. */
    private static void declareInternals(Slab.Builder b, String p, ModelConfig c, DType low, long seq) {
        b.add(p + "n1", low, seq, c.dim()).add(p + "rstd1", DType.F32, seq)
                .add(p + "q", low, seq, c.qDim()).add(p + "k", low, seq, c.kvDim())
                .add(p + "v", low, seq, c.kvDim()).add(p + "att", low, seq, c.qDim())
                .add(p + "lse", DType.F32, seq, c.heads()).add(p + "h", DType.F32, seq, c.dim())
                .add(p + "n2", low, seq, c.dim()).add(p + "rstd2", DType.F32, seq)
                .add(p + "gate", low, seq, c.ffnHidden()).add(p + "up", low, seq, c.ffnHidden())
                .add(p + "act", low, seq, c.ffnHidden());
    }

    private Tensor t(String name) {
        return slab.get(name);
    }

    /**
     * What layer {@code l}'s forward keeps for its backward.
     *
     * @param l the layer, from 0
     * @return its tensors
     */
    public Layer layer(int l) {
        return layers[l];
    }

    /**
     * The gradient buffers backward reuses layer after layer.
     *
     * @return the buffers
     */
    public Grads grads() {
        return grads;
    }

    /**
     * The shard's token ids.
     *
     * @return {@code [seq]} I32
     */
    public Tensor tokens() {
        return t("tokens");
    }

    /** Next-token targets of the shard, -1 where a position carries no loss. */
    public Tensor targets() {
        return t("targets");
    }

    /** Global positions of the shard's tokens, for the rotary embeddings. */
    public Tensor positions() {
        return t("positions");
    }

    /** The final norm's output, the head's input, in the compute dtype. */
    public Tensor finalNorm() {
        return t("final.n");
    }

    /**
     * Where a norm writes its fp32 output before it is rounded to the compute dtype
     * {@code [seq, dim]}; mixed precision only (in fp32 a norm writes its output directly).
     */
    public Tensor normStaging() {
        return t("norm.staging");
    }

    /**
     * The final norm's reciprocal RMS per token, kept for its backward.
     *
     * @return {@code [seq]} fp32
     */
    public Tensor finalRstd() {
        return t("final.rstd");
    }

    /** Room for the logits of {@link #chunkRows()} rows: a long sequence's logits never exist at once. */
    public Tensor logits() {
        return t("logits");
    }

    /**
     * Per-token cross-entropy losses.
     *
     * @return {@code [seq]} fp32
     */
    public Tensor losses() {
        return t("losses");
    }

    /**
     * Rows of logits computed at once.
     *
     * @return the chunk
     */
    public int chunkRows() {
        return chunkRows;
    }

    /**
     * The bytes these activations hold.
     *
     * @return the allocation's size
     */
    public long byteSize() {
        return slab.byteSize();
    }

    @Override
    public void close() {
        slab.close();
    }
}
