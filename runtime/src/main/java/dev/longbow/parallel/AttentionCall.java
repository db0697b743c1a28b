package dev.longbow.parallel;

/**
 * One attention kernel call as a scheme issues it: {@code queries} rows against {@code keys} rows
 * on {@code heads} query heads ({@code kvHeads} key/value heads). A diagonal call is a causal block
 * whose queries and keys sit at the same positions (the mask hides its upper triangle); any other
 * call runs unmasked, as schemes issue blocks the mask leaves whole.
 */
public record AttentionCall(long queries, long keys, int heads, int kvHeads, int headDim, boolean diagonal) {

    /** Refuses sizes below 1, KV heads that do not divide the heads, and a diagonal block that is not square. */
    public AttentionCall {
        if (queries < 1 || keys < 1 || heads < 1 || kvHeads < 1 || headDim < 1 || heads % kvHeads != 0 || diagonal && queries != keys) {
            throw new IllegalArgumentException("attention call " + queries + " queries x " + keys + " keys, " + heads + "/" + kvHeads
                    + " heads, dim " + headDim + (diagonal ? ", diagonal" : "") + ": sizes must be positive, kv heads divide heads,"
                    + " and a diagonal block is square");
        }
    }

    /** Forward FLOPs: two matmuls of 2 q k d each per head, half of them under the diagonal's mask. */
    public double flops() {
        return 4.0 * queries * keys * heads * headDim * (diagonal ? 0.5 : 1.0);
    }
}
