package dev.longbow.plan;

/**
 * How a report counts a step's FLOPs for its throughput and MFU. Conventions differ by up to 2x at
 * long sequences (a causal mask halves attention; recomputation adds a third forward pass), so a
 * plan prints the one it uses and a comparison uses the paper's.
 */
public enum FlopCount {
    /**
     * Model FLOPs, as PaLM defines MFU: per token 6 x the weights of every matrix product (forward
     * 2, backward 4), plus 3 x each layer's causal attention forward ({@code 2 S H D} per token
     * under the mask); recomputation is not counted.
     */
    MODEL("model FLOPs: 6 x weights per token for the matrix products, 3 x the causal attention's forward "
            + "(2 S x heads x head dim per token and layer); recomputation not counted") {
        @Override
        public double perSequence(ModelShape m, long seqLen, boolean causal, boolean recompute) {
            double matmuls = m.layers() * m.layerMatmulFlopsPerToken() + 2.0 * m.hidden() * m.vocab();
            return 3 * (seqLen * matmuls + m.layers() * m.attentionFlops(seqLen, causal));
        }
    },
    /**
     * Megatron-DeepSpeed's throughput formula, the TFLOPs and MFU the DeepSpeed-Ulysses and FPDT
     * papers report: {@code 24 c s L h^2 (1 + s / (6 h) + V / (16 L h))} per sequence, c = 4 with
     * activation checkpointing (recomputation counted), else 3. It counts a block as GPT's
     * {@code 12 h^2} weights and attention unmasked ({@code 4 s^2 h} per layer forward), whatever
     * the model.
     */
    MEGATRON_DEEPSPEED("Megatron-DeepSpeed's formula: 24 c s L h^2 (1 + s/6h + V/16Lh), c = 4 with recomputation, "
            + "attention counted unmasked") {
        @Override
        public double perSequence(ModelShape m, long seqLen, boolean causal, boolean recompute) {
            double h = m.hidden();
            double s = seqLen;
            return 24.0 * (recompute ? 4 : 3) * s * m.layers() * h * h * (1 + s / (6 * h) + m.vocab() / (16.0 * m.layers() * h));
        }
    };

    private final String description;

    FlopCount(String description) {
        this.description = description;
    }

    /** The FLOPs this convention counts for one sequence's forward and backward. */
    public abstract double perSequence(ModelShape model, long seqLen, boolean causal, boolean recompute);

    /** The convention in words, for the plan's MFU line. */
    public String describe() {
        return description;
    }
}
