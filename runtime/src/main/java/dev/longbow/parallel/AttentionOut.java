package dev.longbow.parallel;

import dev.longbow.backend.TensorOps;
import dev.longbow.tensor.Tensor;

/**
 * What attention gives a block of queries: the output and its log-sum-exp (fp32), the final
 * result or a running merge of partial ones.
 */
record AttentionOut(Tensor out, Tensor lse) {

    /** Rows {@code [first, first + count)} of both. */
    AttentionOut rows(long first, long count) {
        return new AttentionOut(out.rows(first, count), lse.rows(first, count));
    }

    AttentionOut rows(Span s) {
        return new AttentionOut(s.of(out), s.of(lse));
    }

    /** Empty: out 0 and lse -inf, so that the first merge takes the first partial result as it is. */
    void clear(TensorOps ops) {
        ops.fill(out, 0f);
        ops.fill(lse, Float.NEGATIVE_INFINITY);
    }
}
