package dev.longbow.backend.cpu;

import dev.longbow.backend.AdamWStep;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.HostAllocation;
import dev.longbow.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Each op against a float64 computation written here: the textbook formula for forward passes,
 * central finite differences of that float64 forward for backward passes.
 */
class CpuModelOpsTest {
    private final CpuModelOps ops = new CpuModelOps();
    private final List<HostAllocation> owned = new ArrayList<>();
    private Random random;

    @AfterEach
    void free() {
        owned.forEach(HostAllocation::close);
    }

    private void seed(long seed) {
        System.out.println(getClass().getSimpleName() + " seed " + seed);
        random = new Random(seed);
    }

    private Tensor tensor(DType dtype, long... dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        HostAllocation a = new HostAllocation(Math.max(4, n * 4));
        owned.add(a);
        return HostAllocation.tensor(a, dtype, dims);
    }

    private Tensor randomTensor(long... dims) {
        Tensor t = tensor(DType.F32, dims);
        for (long i = 0; i < t.numel(); i++) {
            t.setFloat(i, (float) random.nextGaussian());
        }
        return t;
    }

    private static double[] doubles(Tensor t) {
        double[] d = new double[(int) t.numel()];
        for (int i = 0; i < d.length; i++) {
            d[i] = t.getFloat(i);
        }
        return d;
    }

    private static void assertClose(double[] expected, Tensor actual, double tol, String what) {
        for (int i = 0; i < expected.length; i++) {
            double scale = Math.max(1, Math.abs(expected[i]));
            assertEquals(expected[i], actual.getFloat(i), tol * scale, what + " element " + i);
        }
    }

    @ParameterizedTest
    @CsvSource({"false,false,13,37,300,1,0", "true,false,13,37,300,0.5,1", "false,true,70,19,260,1,1",
            "true,true,7,2100,33,2,-0.5", "false,true,150,64,64,1,0"})
    void matmulMatchesFloat64(boolean transA, boolean transB, int m, int n, int k, float alpha, float beta) {
        seed(11L * m + n + k);
        Tensor a = transA ? randomTensor(k, m) : randomTensor(m, k);
        Tensor b = transB ? randomTensor(n, k) : randomTensor(k, n);
        Tensor c = randomTensor(m, n);
        double[] expected = doubles(c);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    double av = transA ? a.getFloat((long) p * m + i) : a.getFloat((long) i * k + p);
                    double bv = transB ? b.getFloat((long) j * k + p) : b.getFloat((long) p * n + j);
                    sum += av * bv;
                }
                expected[i * n + j] = alpha * sum + beta * expected[i * n + j];
            }
        }
        ops.matmul(a, transA, b, transB, c, alpha, beta);
        assertClose(expected, c, 2e-5 * Math.sqrt(k), "matmul");
    }

    /**
     * The fused head backward against float64: rows past one KC block and past one row block of
     * the micro-kernel (400), a vocabulary that ends in a partial block and leaves groups of one
     * and of two blocks (1003: 4 blocks; 5000: 20 blocks in 16 groups), a width past one NR panel
     * (40). dx is overwritten (NaN before), dhead accumulated.
     */
    @ParameterizedTest
    @CsvSource({"400,1003,40", "256,5000,64", "7,300,16"})
    void headBackwardMatchesFloat64(int rows, int vocab, int d) {
        seed(31L * rows + vocab + d);
        Tensor dlogits = randomTensor(rows, vocab), head = randomTensor(vocab, d), x = randomTensor(rows, d);
        Tensor dx = tensor(DType.F32, rows, d), dhead = randomTensor(vocab, d);
        for (long i = 0; i < dx.numel(); i++) {
            dx.setFloat(i, Float.NaN);
        }
        double[] g = doubles(dlogits), w = doubles(head), xs = doubles(x);
        double[] dxExpected = new double[rows * d], dheadExpected = doubles(dhead);
        for (int r = 0; r < rows; r++) {
            for (int v = 0; v < vocab; v++) {
                double gv = g[r * vocab + v];
                for (int e = 0; e < d; e++) {
                    dxExpected[r * d + e] += gv * w[v * d + e];
                    dheadExpected[v * d + e] += gv * xs[r * d + e];
                }
            }
        }
        ops.headBackward(dlogits, head, x, dx, dhead);
        assertClose(dxExpected, dx, 2e-5 * Math.sqrt(vocab), "dx");
        assertClose(dheadExpected, dhead, 2e-5 * Math.sqrt(rows), "dhead");
    }

    @Test
    void rmsNormForwardAndBackward() {
        seed(3);
        int rows = 70, d = 24;
        float eps = 1e-5f;
        Tensor x = randomTensor(rows, d), w = randomTensor(d), dy = randomTensor(rows, d);
        Tensor y = tensor(DType.F32, rows, d), rstd = tensor(DType.F32, rows), dx = tensor(DType.F32, rows, d);
        Tensor dw = randomTensor(d);
        double[] dwBefore = doubles(dw), xs = doubles(x), ws = doubles(w), gs = doubles(dy);
        ops.rmsNormForward(x, w, y, rstd, eps);
        assertClose(rmsNorm(xs, ws, rows, d, eps), y, 1e-5, "y");
        ops.rmsNormBackward(x, w, rstd, dy, dx, dw);
        // d/dx and d/dw of L = sum(dy * y), by central differences of the float64 forward.
        double[] dxExpected = numericGradient(xs, v -> dot(gs, rmsNorm(v, ws, rows, d, eps)));
        double[] dwExpected = numericGradient(ws, v -> dot(gs, rmsNorm(xs, v, rows, d, eps)));
        for (int i = 0; i < d; i++) {
            dwExpected[i] += dwBefore[i];
        }
        assertClose(dxExpected, dx, 1e-4, "dx");
        assertClose(dwExpected, dw, 1e-4, "dweight (accumulated)");
    }

    private static double[] rmsNorm(double[] x, double[] w, int rows, int d, double eps) {
        double[] y = new double[x.length];
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int i = 0; i < d; i++) {
                ss += x[r * d + i] * x[r * d + i];
            }
            double inv = 1 / Math.sqrt(ss / d + eps);
            for (int i = 0; i < d; i++) {
                y[r * d + i] = x[r * d + i] * inv * w[i];
            }
        }
        return y;
    }

    @Test
    void ropeRotatesHalvesByPositionAndInverts() {
        seed(5);
        int s = 5, h = 3, d = 8;
        float theta = 10000f;
        Tensor x = randomTensor(s, h, d), pos = tensor(DType.I32, s);
        int[] positions = {0, 7, 123456, 3, 65537};
        for (int i = 0; i < s; i++) {
            pos.setInt(i, positions[i]);
        }
        double[] xs = doubles(x), expected = new double[xs.length];
        for (int t = 0; t < s; t++) {
            for (int hh = 0; hh < h; hh++) {
                int at = (t * h + hh) * d;
                for (int i = 0; i < d / 2; i++) {
                    double angle = positions[t] / Math.pow(theta, 2.0 * i / d);
                    double x1 = xs[at + i], x2 = xs[at + i + d / 2];
                    expected[at + i] = x1 * Math.cos(angle) - x2 * Math.sin(angle);
                    expected[at + i + d / 2] = x2 * Math.cos(angle) + x1 * Math.sin(angle);
                }
            }
        }
        ops.rope(x, pos, theta, false);
        assertClose(expected, x, 1e-5, "rope");
        ops.rope(x, pos, theta, true);
        assertClose(xs, x, 1e-5, "inverse rope");
    }

    @Test
    void swigluForwardAndBackward() {
        seed(7);
        int n = 1000;
        Tensor g = randomTensor(n), u = randomTensor(n), dout = randomTensor(n);
        Tensor out = tensor(DType.F32, n), dg = tensor(DType.F32, n), du = tensor(DType.F32, n);
        double[] gs = doubles(g), us = doubles(u), ds = doubles(dout);
        ops.swigluForward(g, u, out);
        assertClose(swiglu(gs, us), out, 1e-6, "swiglu");
        ops.swigluBackward(g, u, dout, dg, du);
        assertClose(numericGradient(gs, v -> dot(ds, swiglu(v, us))), dg, 1e-5, "dgate");
        assertClose(numericGradient(us, v -> dot(ds, swiglu(gs, v))), du, 1e-5, "dup");
    }

    private static double[] swiglu(double[] g, double[] u) {
        double[] out = new double[g.length];
        for (int i = 0; i < g.length; i++) {
            out[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
        }
        return out;
    }

    @Test
    void embeddingGathersAndScattersAddingRepeats() {
        seed(9);
        int vocab = 11, d = 40, s = 9;
        int[] ids = {3, 0, 3, 10, 5, 3, 0, 1, 10};
        Tensor table = randomTensor(vocab, d), tokens = tensor(DType.I32, s), out = tensor(DType.F32, s, d);
        for (int i = 0; i < s; i++) {
            tokens.setInt(i, ids[i]);
        }
        ops.embeddingForward(table, tokens, out);
        double[] expected = new double[s * d];
        for (int i = 0; i < s; i++) {
            for (int j = 0; j < d; j++) {
                expected[i * d + j] = table.getFloat((long) ids[i] * d + j);
            }
        }
        assertClose(expected, out, 0, "embedding");
        Tensor dout = randomTensor(s, d), dtable = randomTensor(vocab, d);
        double[] dtExpected = doubles(dtable);
        for (int i = 0; i < s; i++) {
            for (int j = 0; j < d; j++) {
                dtExpected[ids[i] * d + j] += dout.getFloat((long) i * d + j);
            }
        }
        ops.embeddingBackward(tokens, dout, dtable);
        assertClose(dtExpected, dtable, 1e-6, "dtable");
    }

    @Test
    void crossEntropyLossAndScaledGradientWithMaskedRows() {
        seed(13);
        int rows = 6, vocab = 1003;
        float scale = 0.25f;
        int[] ts = {5, -1, 1002, 0, 17, 999};
        Tensor logits = randomTensor(rows, vocab), targets = tensor(DType.I32, rows), losses = tensor(DType.F32, rows);
        for (int r = 0; r < rows; r++) {
            targets.setInt(r, ts[r]);
            logits.setFloat((long) r * vocab + 3, 30f); // a large logit: the max shift must hold
        }
        double[] l = doubles(logits), lossExpected = new double[rows], gradExpected = new double[l.length];
        for (int r = 0; r < rows; r++) {
            if (ts[r] < 0) {
                continue;
            }
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int i = 0; i < vocab; i++) {
                max = Math.max(max, l[r * vocab + i]);
            }
            for (int i = 0; i < vocab; i++) {
                sum += Math.exp(l[r * vocab + i] - max);
            }
            double lse = max + Math.log(sum);
            lossExpected[r] = lse - l[r * vocab + ts[r]];
            for (int i = 0; i < vocab; i++) {
                gradExpected[r * vocab + i] = scale * (Math.exp(l[r * vocab + i] - lse) - (i == ts[r] ? 1 : 0));
            }
        }
        ops.crossEntropy(logits, targets, losses, scale);
        assertClose(lossExpected, losses, 1e-5, "loss");
        assertClose(gradExpected, logits, 1e-6, "dlogits");
    }

    @Test
    void adamwFollowsThePublishedUpdate() {
        seed(17);
        int n = 5000;
        AdamWStep step = new AdamWStep(1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, 3);
        Tensor p = randomTensor(n), g = randomTensor(n), m = randomTensor(n), v = randomTensor(n);
        for (int i = 0; i < n; i++) {
            v.setFloat(i, Math.abs(v.getFloat(i)));
        }
        double[] ps = doubles(p), gs = doubles(g), ms = doubles(m), vs = doubles(v);
        double[] pe = new double[n], me = new double[n], ve = new double[n];
        for (int i = 0; i < n; i++) {
            // Loshchilov & Hutter, decoupled decay as in torch.optim.AdamW: p <- p - lr*wd*p - lr*mhat/(sqrt(vhat)+eps).
            me[i] = 0.9 * ms[i] + 0.1 * gs[i];
            ve[i] = 0.95 * vs[i] + 0.05 * gs[i] * gs[i];
            double mhat = me[i] / (1 - Math.pow(0.9, 3)), vhat = ve[i] / (1 - Math.pow(0.95, 3));
            pe[i] = ps[i] - 1e-2 * 0.1 * ps[i] - 1e-2 * mhat / (Math.sqrt(vhat) + 1e-8);
        }
        ops.adamw(p, g, m, v, step);
        assertClose(me, m, 1e-6, "m");
        assertClose(ve, v, 1e-6, "v");
        assertClose(pe, p, 1e-6, "param");
    }

    /**
     * The same inputs give the same bits before and after the JIT compiles the loops: a training
     * run repeats exactly in a new JVM only if no result depends on when C2 stepped in.
     */
    @Test
    void resultsRepeatBitForBitWhileTheJitWarmsUp() {
        seed(19);
        CpuTensorOps tensors = new CpuTensorOps();
        Tensor x = randomTensor(5000), logits = randomTensor(4, 301), fresh = randomTensor(4, 301);
        Tensor targets = tensor(DType.I32, 4), losses = tensor(DType.F32, 4);
        double first = tensors.sumOfSquares(x);
        tensors.copy(fresh, logits);
        ops.crossEntropy(logits, targets, losses, 1f);
        double[] firstGrad = doubles(logits);
        for (int i = 0; i < 3000; i++) {
            assertEquals(first, tensors.sumOfSquares(x), 0.0, "sum of squares at call " + i);
            tensors.copy(fresh, logits);
            ops.crossEntropy(logits, targets, losses, 1f);
        }
        assertClose(firstGrad, logits, 0, "cross-entropy gradient after warm-up");
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    /** Central differences of a float64 function of a vector. */
    private static double[] numericGradient(double[] at, java.util.function.ToDoubleFunction<double[]> f) {
        double[] grad = new double[at.length];
        double h = 1e-6;
        for (int i = 0; i < at.length; i++) {
            double[] plus = at.clone(), minus = at.clone();
            plus[i] += h;
            minus[i] -= h;
            grad[i] = (f.applyAsDouble(plus) - f.applyAsDouble(minus)) / (2 * h);
        }
        return grad;
    }
}
