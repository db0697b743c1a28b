package dev.longbow.parallel;

import dev.longbow.tensor.Tensor;

/**
 * What a scheme that keeps nothing of its own saves for backward: the caller's shard, its queries,
 * keys and values and forward's result for them, which the caller keeps until then.
 */
record ShardInputs(Tensor q, KeyValue kv, AttentionOut result) implements SequenceParallelAttention.Saved {
    @Override
    public void close() {
    }
}
