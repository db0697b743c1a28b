package dev.longbow.plan;

import dev.longbow.parallel.AttentionCall;
import java.util.Locale;

/**
 * The throughput, FLOP/s, the attention kernels achieve on a call of a given shape, forward and
 * backward (counting a backward pass as 2.5x its forward's FLOPs). Small calls run slower than
 * large ones (launch, waves, the diagonal's wasted tiles), so a scheme that cuts attention into
 * many small blocks pays for it; rates are measured per shape where they can be
 * ({@link MeasuredRates}, the CPU check's {@code CallRates}).
 */
public interface AttentionRates {

    double forward(AttentionCall call);

    double backward(AttentionCall call);

    /** Where the rates come from, for the plan's header: measured where, or assumed. */
    String describe();

    /** One forward and one backward rate whatever the call: an assumption, or an override. */
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

            @Override
            public String describe() {
                return String.format(Locale.ROOT, "attention at %.0f (forward) and %.0f (backward) TFLOP/s whatever the call", forward / 1e12,
                        backward / 1e12);
            }
        };
    }

    /** These rates shared evenly by {@code ways} ranks. */
    default AttentionRates dividedBy(int ways) {
        return scaled(1.0 / ways, describe() + ", shared by " + ways + " ranks");
    }

    /** These rates times {@code factor}, described as {@code description}. */
    default AttentionRates scaled(double factor, String description) {
        AttentionRates whole = this;
        return new AttentionRates() {
            @Override
            public double forward(AttentionCall call) {
                return factor * whole.forward(call);
            }

            @Override
            public double backward(AttentionCall call) {
                return factor * whole.backward(call);
            }

            @Override
            public String describe() {
                return description;
            }
        };
    }
}
