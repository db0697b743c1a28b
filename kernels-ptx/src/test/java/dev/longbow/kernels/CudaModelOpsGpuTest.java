package dev.longbow.kernels;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.backend.AdamWStep;
import dev.longbow.backend.ModelOps;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Numerics;
import dev.longbow.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The model's elementwise and row-wise ops on the GPU against float64 computations of their formulas. */
class CudaModelOpsGpuTest extends GpuTest {
    private static final List<DType> FLOATS = List.of(DType.F32, DType.BF16, DType.F16);

    private ModelOps ops() {
        return backend.model();
    }

    @Test
    void rmsNormForwardAndBackward() {
        for (DType dtype : FLOATS) {
            for (int d : new int[] {512, 999}) {  // 16-byte packs, and single elements
                int rows = 37;
                float eps = 1e-5f;
                Tensor x = randomHost(dtype, rows, d);
                Tensor w = randomHost(DType.F32, d);
                Tensor dy = randomHost(dtype, rows, d);
                Tensor dw0 = randomHost(DType.F32, d);
                double[] xs = values(x);
                double[] ws = values(w);
                double[] gs = values(dy);
                double[] y = new double[xs.length];
                double[] rstd = new double[rows];
                double[] dx = new double[xs.length];
                double[] dw = values(dw0);
                for (int r = 0; r < rows; r++) {
                    double ss = 0;
                    double dot = 0;
                    for (int j = 0; j < d; j++) {
                        ss += xs[r * d + j] * xs[r * d + j];
                        dot += gs[r * d + j] * ws[j] * xs[r * d + j];
                    }
                    double rs = 1 / Math.sqrt(ss / d + eps);
                    rstd[r] = rs;
                    for (int j = 0; j < d; j++) {
                        int i = r * d + j;
                        y[i] = xs[i] * rs * ws[j];
                        dx[i] = rs * (ws[j] * gs[i] - xs[i] * rs * rs * dot / d);
                        dw[j] += gs[i] * xs[i] * rs;
                    }
                }
                Tensor xDev = dev.upload(x);
                Tensor yDev = dev.poisoned(dtype, rows, d);
                Tensor rstdDev = dev.poisoned(DType.F32, rows);
                Tensor wDev = dev.upload(w);
                ops().rmsNormForward(xDev, wDev, yDev, rstdDev, eps);
                String what = dtype + " d=" + d;
                Compare.close("y " + what, dev.download(yDev), y, Compare.tolerance(dtype));
                Compare.close("rstd " + what, dev.download(rstdDev), rstd, 1e-5);

                Tensor dxOut = dev.poisoned(dtype, rows, d);
                Tensor dwDev = dev.upload(dw0);
                ops().rmsNormBackward(xDev, wDev, rstdDev, dev.upload(dy), dxOut, dwDev);
                Compare.close("dx " + what, dev.download(dxOut), dx, Compare.tolerance(dtype));
                Compare.close("dweight " + what, dev.download(dwDev), dw, 1e-5);
            }
        }
    }

    @Test
    void ropeRotatesHalvesByPositionAndInverseUndoesIt() {
        for (DType dtype : FLOATS) {
            for (int d : new int[] {128, 64}) {
                int s = 29;
                int h = 3;
                float theta = 500000f;
                Tensor x = randomHost(dtype, s, h, d);
                Tensor pos = dev.host().zeros(DType.I32, s);
                for (int i = 0; i < s; i++) {
                    pos.setInt(i, i < 3 ? i : random.nextInt(2_000_000));
                }
                double[] xs = values(x);
                double[] expected = new double[xs.length];
                for (int t = 0; t < s; t++) {
                    for (int i = 0; i < d / 2; i++) {
                        double angle = pos.getInt(t) * Math.pow(theta, -2.0 * i / d);
                        for (int head = 0; head < h; head++) {
                            int base = (t * h + head) * d;
                            double a = xs[base + i];
                            double b = xs[base + i + d / 2];
                            expected[base + i] = a * Math.cos(angle) - b * Math.sin(angle);
                            expected[base + i + d / 2] = b * Math.cos(angle) + a * Math.sin(angle);
                        }
                    }
                }
                Tensor xDev = dev.upload(x);
                Tensor posDev = dev.upload(pos);
                ops().rope(xDev, posDev, theta, false);
                String what = dtype + " d=" + d;
                Compare.close("rope " + what, dev.download(xDev), expected, Compare.tolerance(dtype));
                ops().rope(xDev, posDev, theta, true);
                Compare.close("inverse rope " + what, dev.download(xDev), xs, 2 * Compare.tolerance(dtype));
            }
        }
    }

    @Test
    void swigluForwardAndBackward() {
        for (DType dtype : FLOATS) {
            long n = 10_003;
            Tensor g = randomHost(dtype, n);
            Tensor u = randomHost(dtype, n);
            Tensor dout = randomHost(dtype, n);
            double[] gs = values(g);
            double[] us = values(u);
            double[] ds = values(dout);
            double[] out = new double[(int) n];
            double[] dg = new double[(int) n];
            double[] du = new double[(int) n];
            for (int i = 0; i < n; i++) {
                double sig = 1 / (1 + Math.exp(-gs[i]));
                out[i] = gs[i] * sig * us[i];
                dg[i] = ds[i] * us[i] * sig * (1 + gs[i] * (1 - sig));
                du[i] = ds[i] * gs[i] * sig;
            }
            Tensor gDev = dev.upload(g);
            Tensor uDev = dev.uploadAt(1, u);
            Tensor outDev = dev.poisoned(dtype, n);
            ops().swigluForward(gDev, uDev, outDev);
            Compare.close("swiglu " + dtype, dev.download(outDev), out, Compare.tolerance(dtype));
            Tensor dgDev = dev.poisoned(dtype, n);
            Tensor duDev = dev.poisoned(dtype, n);
            ops().swigluBackward(gDev, uDev, dev.upload(dout), dgDev, duDev);
            Compare.close("dgate " + dtype, dev.download(dgDev), dg, Compare.tolerance(dtype));
            Compare.close("dup " + dtype, dev.download(duDev), du, Compare.tolerance(dtype));
        }
    }

    @Test
    void embeddingGathersRowsAndScatterAddsGradients() {
        int vocab = 97;
        int count = 300;
        for (DType table : FLOATS) {
            for (DType out : FLOATS) {
                for (int d : new int[] {64, 5}) {
                    Tensor t = randomHost(table, vocab, d);
                    Tensor tokens = dev.host().zeros(DType.I32, count);
                    for (int i = 0; i < count; i++) {
                        tokens.setInt(i, i == 7 ? vocab + 3 : random.nextInt(vocab));
                    }
                    Tensor o = dev.poisoned(out, count, d);
                    ops().embeddingForward(dev.upload(t), dev.upload(tokens), o);
                    double[] ts = values(t);
                    double[] expected = new double[count * d];
                    for (int i = 0; i < count; i++) {
                        for (int j = 0; j < d; j++) {
                            int tok = tokens.getInt(i);
                            expected[i * d + j] = tok >= vocab ? Double.NaN : Numerics.roundTo(out, (float) ts[tok * d + j]);
                        }
                    }
                    Compare.exact("embedding " + table + "->" + out + " d=" + d + " (token 7 is out of range: NaN row)", dev.download(o), expected);
                }
            }
        }
        for (DType grad : FLOATS) {
            int d = 64;
            Tensor tokens = dev.host().zeros(DType.I32, count);
            for (int i = 0; i < count; i++) {
                tokens.setInt(i, random.nextInt(vocab / 4));  // many repeats
            }
            Tensor dout = randomHost(grad, count, d);
            Tensor dtable0 = randomHost(DType.F32, vocab, d);
            double[] expected = values(dtable0);
            double[] gs = values(dout);
            for (int i = 0; i < count; i++) {
                for (int j = 0; j < d; j++) {
                    expected[tokens.getInt(i) * d + j] += gs[i * d + j];
                }
            }
            Tensor dtable = dev.upload(dtable0);
            ops().embeddingBackward(dev.upload(tokens), dev.upload(dout), dtable);
            Compare.close("embedding backward " + grad, dev.download(dtable), expected, 1e-5);
        }
    }

    @Test
    void crossEntropyWritesLossesAndGradientsInPlaceAndMasksRows() {
        for (DType dtype : FLOATS) {
            for (int vocab : new int[] {32000, 1001}) {
                int rows = 9;
                float gradScale = 1f / 7;
                Tensor logits = randomHost(dtype, rows, vocab);
                Tensor targets = dev.host().zeros(DType.I32, rows);
                for (int r = 0; r < rows; r++) {
                    targets.setInt(r, r == 2 || r == 5 ? -1 : random.nextInt(vocab));
                }
                double[] x = values(logits);
                double[] loss = new double[rows];
                double[] grad = new double[x.length];
                for (int r = 0; r < rows; r++) {
                    int t = targets.getInt(r);
                    if (t < 0) {
                        continue;
                    }
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < vocab; j++) {
                        max = Math.max(max, x[r * vocab + j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < vocab; j++) {
                        sum += Math.exp(x[r * vocab + j] - max);
                    }
                    double lse = max + Math.log(sum);
                    loss[r] = lse - x[r * vocab + t];
                    for (int j = 0; j < vocab; j++) {
                        grad[r * vocab + j] = gradScale * (Math.exp(x[r * vocab + j] - lse) - (j == t ? 1 : 0));
                    }
                }
                Tensor l = dev.upload(logits);
                Tensor losses = dev.poisoned(DType.F32, rows);
                ops().crossEntropy(l, dev.upload(targets), losses, gradScale);
                String what = dtype + " V=" + vocab;
                Compare.close("losses " + what, dev.download(losses), loss, 1e-5);
                Compare.close("gradient " + what, dev.download(l), grad, Compare.tolerance(dtype));
            }
        }
    }

    @Test
    void crossEntropyPoisonsARowWhoseTargetIsOutOfRange() {
        Tensor targets = dev.host().zeros(DType.I32, 2);
        targets.setInt(0, 3);
        targets.setInt(1, 10);
        Tensor losses = dev.poisoned(DType.F32, 2);
        Tensor logits = randomDevice(DType.F32, 2, 10);
        ops().crossEntropy(logits, dev.upload(targets), losses, 1);
        double[] l = dev.download(losses);
        assertTrue(Double.isFinite(l[0]) && Double.isNaN(l[1]), "losses " + l[0] + ", " + l[1]);
    }

    /**
     * A NaN logit must reach the loss wherever it sits: a thread's online max skips a NaN it meets
     * before any other value, so the first element of a thread (0, and the first of a pack) is the
     * position a kernel without a NaN flag loses. Rows of 1000 (scalar path) and 1024 (packed).
     */
    @Test
    void crossEntropyLossIsNaNWhenAnyLogitOfTheRowIsNaN() {
        for (DType dtype : FLOATS) {
            for (long vocab : new long[] {1000, 1024}) {
                long[] nanAt = {0, 1, 8, 255, vocab - 1};
                int rows = nanAt.length + 1;  // the last row has no NaN
                Tensor host = randomHost(dtype, rows, vocab);
                for (int r = 0; r < nanAt.length; r++) host.setFloat(r * vocab + nanAt[r], Float.NaN);
                Tensor targets = dev.host().zeros(DType.I32, rows);
                for (int r = 0; r < rows; r++) targets.setInt(r, 3);
                Tensor losses = dev.poisoned(DType.F32, rows);
                ops().crossEntropy(dev.upload(host), dev.upload(targets), losses, 1);
                double[] l = dev.download(losses);
                for (int r = 0; r < nanAt.length; r++) {
                    assertTrue(Double.isNaN(l[r]), dtype + " V=" + vocab + ": NaN logit at " + nanAt[r] + " gave loss " + l[r]);
                }
                assertTrue(Double.isFinite(l[rows - 1]), dtype + " V=" + vocab + ": the row without NaN gave loss " + l[rows - 1]);
            }
        }
    }

    @Test
    void adamwMatchesTorchFormula() {
        for (DType gradType : FLOATS) {
            long n = 10_001;
            AdamWStep step = new AdamWStep(3e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 7);
            Tensor p = randomHost(DType.F32, n);
            Tensor g = randomHost(gradType, n);
            Tensor m = randomHost(DType.F32, n);
            Tensor v = dev.host().zeros(DType.F32, n);
            for (int i = 0; i < n; i++) {
                v.setFloat(i, (float) Math.abs(random.nextGaussian()) * 1e-2f);
            }
            double[] ps = values(p);
            double[] gs = values(g);
            double[] ms = values(m);
            double[] vs = values(v);
            double bc1 = 1 - Math.pow(step.beta1(), step.step());
            double bc2 = 1 - Math.pow(step.beta2(), step.step());
            for (int i = 0; i < n; i++) {
                ms[i] = step.beta1() * ms[i] + (1 - step.beta1()) * gs[i];
                vs[i] = step.beta2() * vs[i] + (1 - step.beta2()) * gs[i] * gs[i];
                ps[i] = ps[i] * (1 - step.lr() * step.weightDecay()) - step.lr() * (ms[i] / bc1) / (Math.sqrt(vs[i] / bc2) + step.eps());
            }
            Tensor pd = dev.upload(p);
            Tensor md = dev.upload(m);
            Tensor vd = dev.upload(v);
            ops().adamw(pd, dev.upload(g), md, vd, step);
            Compare.close("param " + gradType, dev.download(pd), ps, 1e-6);
            Compare.close("m " + gradType, dev.download(md), ms, 1e-6);
            Compare.close("v " + gradType, dev.download(vd), vs, 1e-6);
        }
    }
}
