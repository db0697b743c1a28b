package dev.longbow.plan;

/**
 * The throughput, FLOP/s, the attention kernels achieve on a call of a given shape, forward and
 * backward (counting a backward pass as 2.5x its forward's FLOPs). A GPU's flash kernels run near
 * one rate for the large blocks long sequences give them; the CPU backend's rate depends on the
 * block (tile padding, the diagonal's wasted half-tiles, per-call packing), so it is measured per
 * shape.
 */
public interface AttentionRates {

    double forward(AttentionCall call);

    double backward(AttentionCall call);

    static AttentionRates constant(double forward, double backward) {
        return new AttentionRates() {
            @Override
            public double forward(AttentionCall call) {
                return forward;
            }

            @Override
            public double backward(AttentionCall call) {
                return backward;
            }
        };
    }

    /** These rates shared evenly by {@code ways} ranks. */
    default AttentionRates dividedBy(int ways) {
        AttentionRates whole = this;
        return new AttentionRates() {
            @Override
            public double forward(AttentionCall call) {
                return whole.forward(call) / ways;
            }

            @Override
            public double backward(AttentionCall call) {
                return whole.backward(call) / ways;
            }
        };
    }
}
