package dev.longbow.parallel;

import dev.longbow.backend.AttentionOps;
import dev.longbow.backend.AttentionParams;
import dev.longbow.tensor.Tensor;
import java.util.List;

/**
 * Attention of a block of queries against a block of keys and values whose rows are lists of
 * {@link Span}s: each pair of spans becomes one kernel call at its global positions, pairs the
 * causal mask hides entirely are skipped and pairs it leaves whole run unmasked. Without a causal
 * mask positions do not matter and the whole block is one call.
 */
final class BlockAttention {
    private final AttentionOps ops;
    private final AttentionParams params;

    BlockAttention(AttentionOps ops, AttentionParams params) {
        this.ops = ops;
        this.params = params;
    }

    /**
     * Folds this block's attention into the running fp32 {@code out}, {@code lse} (LSE-weighted
     * merge), computing it in {@code partOut}, {@code partLse} (fp32, shaped like out and lse).
     */
    void forward(Tensor q, List<Span> qSpans, Tensor k, Tensor v, List<Span> kSpans,
                 Tensor out, Tensor lse, Tensor partOut, Tensor partLse) {
        if (!params.causal()) {
            ops.forward(q, k, v, partOut, partLse, params);
            ops.merge(out, lse, partOut, partLse);
            return;
        }
        for (Span qs : qSpans) {
            for (Span ks : kSpans) {
                AttentionParams at = visibility(qs, ks);
                if (at != null) {
                    ops.forward(rows(q, qs), rows(k, ks), rows(v, ks), rows(partOut, qs), rows(partLse, qs), at);
                    ops.merge(rows(out, qs), rows(lse, qs), rows(partOut, qs), rows(partLse, qs));
                }
            }
        }
    }

    /**
     * Adds this block's gradients to the fp32 {@code dq}, {@code dk}, {@code dv}; {@code out} and
     * {@code lse} are the final results for the queries.
     */
    void backward(Tensor q, List<Span> qSpans, Tensor k, Tensor v, List<Span> kSpans,
                  Tensor out, Tensor lse, Tensor dout, Tensor dq, Tensor dk, Tensor dv) {
        if (!params.causal()) {
            ops.backward(q, k, v, out, lse, dout, dq, dk, dv, params);
            return;
        }
        for (Span qs : qSpans) {
            for (Span ks : kSpans) {
                AttentionParams at = visibility(qs, ks);
                if (at != null) {
                    ops.backward(rows(q, qs), rows(k, ks), rows(v, ks), rows(out, qs), rows(lse, qs), rows(dout, qs),
                            rows(dq, qs), rows(dk, ks), rows(dv, ks), at);
                }
            }
        }
    }

    /** The parameters for one pair of spans, or null when the causal mask hides every key from every query. */
    private AttentionParams visibility(Span qs, Span ks) {
        if (ks.start() > qs.end() - 1) {
            return null;
        }
        AttentionParams at = params.at(qs.start(), ks.start());
        return ks.end() - 1 <= qs.start() ? at.unmasked() : at;
    }

    private static Tensor rows(Tensor t, Span s) {
        return t.rows(s.row(), s.length());
    }
}
