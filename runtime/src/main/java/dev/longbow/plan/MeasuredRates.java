package dev.longbow.plan;

import dev.longbow.parallel.AttentionCall;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Attention throughput measured on a GPU at a few call sizes (bench/gpu/RESULTS.md: causal
 * S x S calls, 16 heads of 128, bf16, the sizes FlashBench times), priced for any call by its
 * work: between two measured sizes the rate follows a straight line in the logarithm of the
 * call's FLOPs; above the largest it stays; below the smallest it keeps falling along the first
 * segment's slope (small calls fill fewer of the GPU's units), never below 1% of the smallest
 * size's rate. Two assumptions, stated in
 * {@link #describe}: a call's rate depends on its FLOPs alone (whatever its head count, head dim
 * and shape), and an unmasked call runs at the rate of a causal one of equal FLOPs.
 *
 * @param source   where the numbers were measured, for the plan's header
 * @param points   the measured sizes, ascending
 */
public record MeasuredRates(String source, List<Point> points) implements AttentionRates {

    /**
     * One measured size: a causal {@code seqLen} x {@code seqLen} call on {@code heads} heads of
     * {@code headDim}, at {@code forward} and {@code backward} FLOP/s.
     */
    public record Point(long seqLen, int heads, int headDim, double forward, double backward) {
        /** The call's forward FLOPs, causal: 2 S^2 D H. */
        double flops() {
            return 2.0 * seqLen * seqLen * headDim * heads;
        }
    }

    public MeasuredRates {
        points = List.copyOf(points);
        if (points.size() < 2) {
            throw new IllegalArgumentException("measured rates need at least two sizes, not " + points.size());
        }
        for (int i = 1; i < points.size(); i++) {
            if (points.get(i).flops() <= points.get(i - 1).flops()) {
                throw new IllegalArgumentException("measured sizes must ascend: " + points);
            }
        }
    }

    /**
     * Longbow's own flash kernels on an H100 80GB HBM3 (bench/gpu/RESULTS.md, 2026-11-23): causal, B=1, H=16, D=128,
     * bf16, at 4K, 16K and 64K tokens.
     */
    public static final MeasuredRates H100_LONGBOW = new MeasuredRates("Longbow's flash kernels on an H100 (bench/gpu/RESULTS.md)", List.of(
            new Point(4096, 16, 128, 311.5e12, 235.6e12), new Point(16384, 16, 128, 354.4e12, 279.7e12),
            new Point(65536, 16, 128, 339.2e12, 280.7e12)));

    /** PyTorch's SDPA flash backend (FlashAttention-2) in the same run: what the papers' PyTorch stacks call. */
    public static final MeasuredRates H100_FLASH2 = new MeasuredRates("PyTorch SDPA flash (FlashAttention-2) on an H100 (bench/gpu/RESULTS.md)",
            List.of(new Point(4096, 16, 128, 213.7e12, 228.0e12), new Point(16384, 16, 128, 325.4e12, 317.1e12),
                    new Point(65536, 16, 128, 321.8e12, 325.9e12)));

    @Override
    public double forward(AttentionCall call) {
        return rate(call.flops(), true);
    }

    @Override
    public double backward(AttentionCall call) {
        return rate(call.flops(), false);
    }

    private double rate(double flops, boolean forward) {
        int last = points.size() - 1;
        if (flops >= points.get(last).flops()) {
            return of(points.get(last), forward);
        }
        int i = 0;
        while (i < last - 1 && flops >= points.get(i + 1).flops()) {
            i++;
        }
        Point a = points.get(i);
        Point b = points.get(i + 1);
        double t = Math.log(flops / a.flops()) / Math.log(b.flops() / a.flops());
        return Math.max(0.01 * of(a, forward), of(a, forward) + t * (of(b, forward) - of(a, forward)));
    }

    private static double of(Point p, boolean forward) {
        return forward ? p.forward : p.backward;
    }

    @Override
    public String describe() {
        return String.format(Locale.ROOT, "attention by call size from %s: forward %s, backward %s TFLOP/s at %s tokens "
                        + "(assumed: a call's rate depends on its FLOPs alone; unmasked calls run as causal ones of equal FLOPs)", source,
                join(true), join(false), Arrays.toString(points.stream().mapToLong(p -> p.seqLen() >> 10).toArray()).replace("]", "K]"));
    }

    private String join(boolean forward) {
        return String.join("/", points.stream().map(p -> String.format(Locale.ROOT, "%.0f", of(p, forward) / 1e12)).toList());
    }
}
