package dev.longbow.train;

import dev.longbow.model.Activations;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.Precision;
import dev.longbow.model.ShardedParameters;
import dev.longbow.model.Weights;
import dev.longbow.tensor.DType;
import java.util.Arrays;
import java.util.Locale;

/**
 * The memory one rank of a training run needs, known before anything is allocated: the model's
 * four fp32 slabs (parameters, gradients, two AdamW moments; in mixed precision also the
 * parameters' compute copy), or with sharded model states this rank's shard of the four
 * (16 / ranks bytes a parameter) and the unit buffers they are gathered into and reduce-scattered
 * from ({@link ShardedParameters#byteSize}), and the activations exactly as they will
 * be laid out, and the attention scheme's buffers estimated from the shard's shape (an upper
 * bound of what the schemes allocate; SchemeMemoryTest measures them).
 *
 * @param modelStates parameters (and their compute copy), gradients and AdamW's two moments, whole or this rank's
 *                    shard of them with the unit buffers
 * @param activations the activation slab
 * @param attention   one attention call's work buffers, plus what forward keeps for backward
 */
public record MemoryEstimate(long modelStates, long activations, long attention) {

    /**
     * What a rank of {@code c} holds, computed without allocating.
     *
     * @param c the run
     * @return the estimate
     */
    public static MemoryEstimate of(TrainConfig c) {
        boolean[] recompute = new boolean[c.model().layers()];
        Arrays.fill(recompute, c.recompute());
        Precision p = c.precision();
        return new MemoryEstimate(modelStates(c), Activations.byteSize(c.model(), p, c.localLen(), c.chunkRows(), recompute),
                attention(c));
    }

    /** What {@link ReplicatedStates} or {@link ShardedStates} and its store allocate. */
    private static long modelStates(TrainConfig c) {
        Precision p = c.precision();
        if (c.shardModelStates()) {
            return ShardedParameters.byteSize(c.model(), p, c.ranks()) + ShardedStates.momentBytes(c.model(), c.ranks());
        }
        long computeCopy = p == Precision.F32 ? 0 : Weights.byteSize(c.model(), p.compute());
        return 4 * Weights.byteSize(c.model(), DType.F32) + computeCopy;
    }

    /**
     * The scheme's bound for the shard's q, k, v, out and lse (see
     * {@link dev.longbow.parallel.Scheme#bufferBound}), counted in fp32 whatever the precision:
     * the schemes accumulate out, dq, dk and dv in fp32.
     */
    static long attention(TrainConfig c) {
        ModelConfig m = c.model();
        long shard = (long) c.localLen() * ((2L * m.heads() + 2L * m.kvHeads()) * m.headDim() + m.heads()) * Float.BYTES;
        return c.scheme().bufferBound(shard, c.recompute() ? 1 : m.layers());
    }

    /**
     * All of it.
     *
     * @return bytes per rank
     */
    public long perRank() {
        return modelStates + activations + attention;
    }

    /**
     * Refuses a run whose {@code ranks} ranks in this process need more than {@code available}
     * bytes of {@code memory} ("host memory", "memory of GPU 3"), naming both and the fixes
     * ({@code shardedStates}: the run shards its model states already, so that is not one).
     */
    public void requireAvailable(long available, int ranks, String memory, String run, boolean shardedStates) {
        long needed;
        try {
            needed = Math.multiplyExact(perRank(), (long) ranks);
        } catch (ArithmeticException e) {
            needed = Long.MAX_VALUE;
        }
        if (needed > available) {
            throw new IllegalArgumentException(run + " needs about " + bytes(needed) + " of " + memory + " ("
                    + (ranks > 1 ? ranks + " ranks x " + bytes(perRank()) + ": " : "") + "model states " + bytes(modelStates)
                    + ", activations " + bytes(activations) + ", attention buffers " + bytes(attention) + ") but "
                    + bytes(available) + " is available; use a shorter --seq-len, --recompute, "
                    + (shardedStates ? "" : "--shard-model-states, ") + "or a smaller --model");
        }
    }

    static String bytes(long b) {
        if (b == Long.MAX_VALUE) {
            return "more than 8 EiB";
        }
        return b >= 1L << 30 ? String.format(Locale.ROOT, "%.1f GiB", b / (double) (1L << 30))
                : String.format(Locale.ROOT, "%.1f MiB", b / (double) (1L << 20));
    }
}
