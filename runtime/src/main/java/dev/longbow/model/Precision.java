package dev.longbow.model;

import dev.longbow.tensor.DType;
import java.util.Arrays;
import java.util.Set;

/**
 * How a model trains: the dtype its matrix products, attention and saved activations compute
 * in. Whatever the precision, the master weights, their gradients, the optimizer state, the
 * residual stream and its gradient, the norms' statistics, the attention log-sum-exp and the
 * losses are fp32 (see {@link Llama} for why each one).
 */
public enum Precision {
    /** Everything in fp32. */
    F32("f32", DType.F32),
    /**
     * Mixed precision as PyTorch autocast and Megatron do it: bf16 copies of the fp32 master
     * weights, refreshed after each update, feed bf16 x bf16 matrix products that accumulate in
     * fp32; attention and the activations kept for backward are bf16.
     */
    BF16_MIXED("bf16", DType.BF16);

    private final String label;
    private final DType compute;

    Precision(String label, DType compute) {
        this.label = label;
        this.compute = compute;
    }

    /** The name on the command line: "f32", "bf16". */
    public String label() {
        return label;
    }

    /** The dtype of the weights' compute copy, the matrix-product inputs, attention and the saved activations. */
    public DType compute() {
        return compute;
    }

    /** The precision labelled {@code label}; the message lists the labels. */
    public static Precision named(String label) {
        for (Precision p : values()) {
            if (p.label.equals(label)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown precision '" + label + "'; choose one of "
                + Arrays.stream(values()).map(Precision::label).toList());
    }

    /** What a backend that trains in {@code computeTypes} runs by default: fp32 where it can, else mixed. */
    public static Precision defaultFor(Set<DType> computeTypes) {
        return computeTypes.contains(DType.F32) ? F32 : BF16_MIXED;
    }
}
