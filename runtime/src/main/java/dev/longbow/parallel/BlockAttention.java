package dev.longbow.parallel;

import dev.longbow.backend.AttentionOps;
import dev.longbow.backend.AttentionParams;
import dev.longbow.tensor.Tensor;
import java.util.List;

/**
 * Attention of a block of queries against a block of keys and values whose rows are lists of
 * {@link Span}s: each pair of spans becomes one kernel call at its global positions, pairs the
 * causal mask hides entirely are skipped and pairs it leaves whole run unmasked. Without a causal
 * mask positions do not matter and the whole block is one call. The tensors come in their groups
 * (the queries' side, K/V, the result, the gradients), so none can take another's place.
 */
final class BlockAttention {
    private final AttentionOps ops;
    private final AttentionParams params;

    BlockAttention(AttentionOps ops, AttentionParams params) {
        this.ops = ops;
        this.params = params;
    }

    /**
     * Folds the attention of queries {@code q} to the block {@code kv} into the running fp32 result
     * {@code acc} (LSE-weighted merge), computing it in {@code part} (fp32, shaped like acc).
     */
    void forward(Tensor q, List<Span> qSpans, KeyValue kv, List<Span> kSpans, AttentionOut acc, AttentionOut part) {
        if (!params.causal()) {
            ops.forward(q, kv.k(), kv.v(), part.out(), part.lse(), params);
            ops.merge(acc.out(), acc.lse(), part.out(), part.lse());
            return;
        }
        for (Span qs : qSpans) {
            for (Span ks : kSpans) {
                AttentionParams at = visibility(qs, ks);
                if (at != null) {
                    KeyValue keys = kv.rows(ks);
                    AttentionOut into = part.rows(qs);
                    AttentionOut running = acc.rows(qs);
                    ops.forward(qs.of(q), keys.k(), keys.v(), into.out(), into.lse(), at);
                    ops.merge(running.out(), running.lse(), into.out(), into.lse());
                }
            }
        }
    }

    /**
     * Adds the block's gradients to the fp32 accumulators {@code into}; {@code queries} hold the
     * final out and lse of the queries and the gradient at that out.
     */
    void backward(Queries queries, List<Span> qSpans, KeyValue kv, List<Span> kSpans, Gradients into) {
        if (!params.causal()) {
            whole(queries, kv, into, params);
            return;
        }
        for (Span qs : qSpans) {
            for (Span ks : kSpans) {
                AttentionParams at = visibility(qs, ks);
                if (at != null) {
                    whole(queries.rows(qs), kv.rows(ks), new Gradients(qs.of(into.dq()), into.dkv().rows(ks)), at);
                }
            }
        }
    }

    /**
     * Attention of all of {@code q} to all of {@code kv} in one call, the two starting at the same
     * position (one sequence, as Ulysses' heads see it), written to {@code result}.
     */
    void whole(Tensor q, KeyValue kv, AttentionOut result) {
        ops.forward(q, kv.k(), kv.v(), result.out(), result.lse(), params);
    }

    /** The backward of {@link #whole(Tensor, KeyValue, AttentionOut)}: adds to {@code into}. */
    void whole(Queries queries, KeyValue kv, Gradients into) {
        whole(queries, kv, into, params);
    }

    private void whole(Queries queries, KeyValue kv, Gradients into, AttentionParams at) {
        ops.backward(queries.q(), kv.k(), kv.v(), queries.out(), queries.lse(), queries.dout(), into.dq(), into.dkv().k(),
                into.dkv().v(), at);
    }

    /** The parameters for one pair of spans, or null when the causal mask hides every key from every query. */
    private AttentionParams visibility(Span qs, Span ks) {
        if (ks.start() > qs.end() - 1) {
            return null;
        }
        AttentionParams at = params.at(qs.start(), ks.start());
        return ks.end() - 1 <= qs.start() ? at.unmasked() : at;
    }
}
