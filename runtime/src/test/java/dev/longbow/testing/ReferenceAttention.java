package dev.longbow.testing;

import dev.longbow.backend.AttentionParams;

/**
 * Attention computed the obvious way in float64: every score, a softmax per row, the full sums.
 * It is the oracle that backends, kernels and sequence-parallel schemes are checked against, so
 * it shares no code with any of them. O(Sq * Sk * D) time per head, O(Sk) extra memory.
 *
 * <p>Conventions are the {@code AttentionOps} ones: arrays are row-major q {@code [sq, hq, d]},
 * k and v {@code [sk, hkv, d]}, out {@code [sq, hq, d]}, lse {@code [sq, hq]} (natural log, scale
 * included); query head h reads key/value head {@code h / (hq / hkv)}; under a causal mask query
 * i sees key j iff {@code kStart + j <= qStart + i}; a row that sees no key has out 0, lse -inf
 * and gradient 0.
 */
public final class ReferenceAttention {
    private ReferenceAttention() {
    }

    /** Extents of one attention problem. */
    public record Dims(int sq, int sk, int hq, int hkv, int d) {
        public Dims {
            if (hkv <= 0 || hq % hkv != 0) {
                throw new IllegalArgumentException("hq " + hq + " not a multiple of hkv " + hkv);
            }
        }

        public int queryElements() {
            return sq * hq * d;
        }

        public int keyElements() {
            return sk * hkv * d;
        }
    }

    public record Output(double[] out, double[] lse) {
    }

    public record Gradients(double[] dq, double[] dk, double[] dv) {
    }

    public static Output forward(Dims dims, AttentionParams params, double[] q, double[] k, double[] v) {
        double[] out = new double[dims.queryElements()];
        double[] lse = new double[dims.sq() * dims.hq()];
        double[] p = new double[dims.sk()];
        for (int h = 0; h < dims.hq(); h++) {
            for (int i = 0; i < dims.sq(); i++) {
                int row = i * dims.hq() + h;
                lse[row] = probabilities(dims, params, q, k, h, i, p);
                for (int j = 0; j < dims.sk(); j++) {
                    addScaled(out, row * dims.d(), p[j], v, keyRow(dims, h, j), dims.d());
                }
            }
        }
        return new Output(out, lse);
    }

    /** Gradients of {@code sum(dout * out)} with respect to q, k and v. */
    public static Gradients backward(Dims dims, AttentionParams params, double[] q, double[] k, double[] v, double[] dout) {
        int d = dims.d();
        double[] dq = new double[dims.queryElements()];
        double[] dk = new double[dims.keyElements()];
        double[] dv = new double[dims.keyElements()];
        double[] p = new double[dims.sk()];
        double[] dp = new double[dims.sk()];
        for (int h = 0; h < dims.hq(); h++) {
            for (int i = 0; i < dims.sq(); i++) {
                int qRow = (i * dims.hq() + h) * d;
                probabilities(dims, params, q, k, h, i, p);
                // d(out_i)/d(P_ij) = v_j; through the softmax dS_j = P_j (dP_j - sum_l P_l dP_l).
                double expected = 0;
                for (int j = 0; j < dims.sk(); j++) {
                    dp[j] = dot(dout, qRow, v, keyRow(dims, h, j), d);
                    expected += p[j] * dp[j];
                }
                for (int j = 0; j < dims.sk(); j++) {
                    int kRow = keyRow(dims, h, j);
                    double ds = p[j] * (dp[j] - expected) * params.scale();
                    addScaled(dq, qRow, ds, k, kRow, d);
                    addScaled(dk, kRow, ds, q, qRow, d);
                    addScaled(dv, kRow, p[j], dout, qRow, d);
                }
            }
        }
        return new Gradients(dq, dk, dv);
    }

    /** Softmax row of query i of head h into {@code p} (0 where masked); returns its log-sum-exp. */
    private static double probabilities(Dims dims, AttentionParams params, double[] q, double[] k, int h, int i, double[] p) {
        int qRow = (i * dims.hq() + h) * dims.d();
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < dims.sk(); j++) {
            boolean visible = !params.causal() || params.kStart() + j <= params.qStart() + i;
            p[j] = visible ? params.scale() * dot(q, qRow, k, keyRow(dims, h, j), dims.d()) : Double.NEGATIVE_INFINITY;
            max = Math.max(max, p[j]);
        }
        if (max == Double.NEGATIVE_INFINITY) {
            java.util.Arrays.fill(p, 0);
            return Double.NEGATIVE_INFINITY;
        }
        double sum = 0;
        for (int j = 0; j < dims.sk(); j++) {
            p[j] = Math.exp(p[j] - max);
            sum += p[j];
        }
        for (int j = 0; j < dims.sk(); j++) {
            p[j] /= sum;
        }
        return max + Math.log(sum);
    }

    private static int keyRow(Dims dims, int h, int j) {
        return (j * dims.hkv() + h / (dims.hq() / dims.hkv())) * dims.d();
    }

    private static double dot(double[] a, int aOff, double[] b, int bOff, int n) {
        double s = 0;
        for (int e = 0; e < n; e++) {
            s += a[aOff + e] * b[bOff + e];
        }
        return s;
    }

    private static void addScaled(double[] y, int yOff, double alpha, double[] x, int xOff, int n) {
        for (int e = 0; e < n; e++) {
            y[yOff + e] += alpha * x[xOff + e];
        }
    }
}
