package dev.longbow.plan;

/**
 * How a DeepSpeed-style implementation spends device memory beyond the scheme's own buffers and
 * one block's activations: the tensors as long as the whole local shard ({@code [S/P, hidden]})
 * that it keeps alive across a block (residual stream, its gradient, the block's input and output,
 * framework copies).
 *
 * @param hiddenStateBytes bytes per element of {@code [S/P, hidden]} held at once
 */
public record Footprint(String name, double hiddenStateBytes) {

    /** The fp32 residual stream and its fp32 gradient, nothing more. */
    public static final Footprint RESIDUAL_STREAM = new Footprint("the fp32 residual stream and its gradient", 8);
}
