package dev.longbow.tornado.vm;

import static dev.longbow.testing.HostTensors.assertClose;
import static dev.longbow.testing.HostTensors.toDoubles;
import static dev.longbow.tornado.vm.DeviceTensors.TORNADO;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.longbow.backend.AdamWStep;
import dev.longbow.backend.ModelOps;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import dev.longbow.testing.HostTensors;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** Each {@link ModelOps} kernel against a float64 computation of its formula on fresh random inputs. */
class TornadoModelOpsTest {
    private static final double TOLERANCE = 1e-5;
    private static final ModelOps MODEL = TORNADO.model();

    @ParameterizedTest(name = "transA={0} transB={1} beta={2}")
    @CsvSource({"false,false,0", "true,false,0.5", "false,true,1", "true,true,-2"})
    void matmul(boolean transA, boolean transB, float beta) {
        int m = 37;
        int n = 21;
        int k = 50;
        float alpha = 0.7f;
        try (HostTensors host = new HostTensors(); DeviceTensors dev = new DeviceTensors()) {
            Random random = new Random(HostTensors.seed("TornadoModelOpsTest matmul " + transA + transB));
            Tensor a = transA ? host.random(DType.F32, random, k, m) : host.random(DType.F32, random, m, k);
            Tensor b = transB ? host.random(DType.F32, random, n, k) : host.random(DType.F32, random, k, n);
            Tensor c = host.random(DType.F32, random, m, n);
            double[] av = toDoubles(a);
            double[] bv = toDoubles(b);
            double[] expected = toDoubles(c);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int l = 0; l < k; l++) {
                        s += av[transA ? l * m + i : i * k + l] * bv[transB ? j * k + l : l * n + j];
                    }
                    expected[i * n + j] = alpha * s + (beta == 0 ? 0 : beta * expected[i * n + j]);
                }
            }
            Tensor dc = dev.put(c);
            MODEL.matmul(dev.put(a), transA, dev.put(b), transB, dc, alpha, beta);
            assertClose("c", dev.get(dc), expected, TOLERANCE);
        }
    }

    @Test
    void rmsNormForwardAndBackward() {
        int rows = 9;
        int width = 150;
        float eps = 1e-5f;
        try (HostTensors host = new HostTensors(); DeviceTensors dev = new DeviceTensors()) {
            Random random = new Random(HostTensors.seed("TornadoModelOpsTest rmsNorm"));
            Tensor x = host.random(DType.F32, random, rows, width);
            Tensor w = host.random(DType.F32, random, width);
            Tensor dy = host.random(DType.F32, random, rows, width);
            Tensor dw = host.random(DType.F32, random, width);
            double[] xs = toDoubles(x);
            double[] ws = toDoubles(w);
            double[] dys = toDoubles(dy);
            double[] y = new double[rows * width];
            double[] rstd = new double[rows];
            double[] dx = new double[rows * width];
            double[] dwExpected = toDoubles(dw);
            for (int r = 0; r < rows; r++) {
                double ss = 0;
                double dot = 0;
                for (int j = 0; j < width; j++) {
                    ss += xs[r * width + j] * xs[r * width + j];
                    dot += dys[r * width + j] * ws[j] * xs[r * width + j];
                }
                rstd[r] = 1 / Math.sqrt(ss / width + eps);
                for (int j = 0; j < width; j++) {
                    int i = r * width + j;
                    y[i] = xs[i] * rstd[r] * ws[j];
                    dx[i] = rstd[r] * ws[j] * dys[i] - Math.pow(rstd[r], 3) * xs[i] * dot / width;
                    dwExpected[j] += dys[i] * xs[i] * rstd[r];
                }
            }
            Tensor dX = dev.put(x);
            Tensor dW = dev.put(w);
            Tensor dY = dev.zeros(DType.F32, rows, width);
            Tensor dRstd = dev.zeros(DType.F32, rows);
            Tensor dDx = dev.zeros(DType.F32, rows, width);
            Tensor dDw = dev.put(dw);
            MODEL.rmsNormForward(dX, dW, dY, dRstd, eps);
            MODEL.rmsNormBackward(dX, dW, dRstd, dev.put(dy), dDx, dDw);
            assertClose("y", dev.get(dY), y, TOLERANCE);
            assertClose("rstd", dev.get(dRstd), rstd, TOLERANCE);
            assertClose("dx", dev.get(dDx), dx, TOLERANCE);
            assertClose("dweight", dev.get(dDw), dwExpected, TOLERANCE);
        }
    }

    @ParameterizedTest(name = "inverse={0}")
    @CsvSource({"false", "true"})
    void ropeRotatesHalvesAtTheGivenPositions(boolean inverse) {
        int s = 7;
        int h = 3;
        int d = 16;
        float theta = 10000f;
        try (HostTensors host = new HostTensors(); DeviceTensors dev = new DeviceTensors()) {
            Random random = new Random(HostTensors.seed("TornadoModelOpsTest rope"));
            Tensor x = host.random(DType.F32, random, s, h, d);
            Tensor positions = host.zeros(DType.I32, s);
            for (int i = 0; i < s; i++) {
                positions.setInt(i, 100_000 + 977 * i);
            }
            double[] xs = toDoubles(x);
            double[] expected = xs.clone();
            for (int t = 0; t < s; t++) {
                for (int head = 0; head < h; head++) {
                    for (int i = 0; i < d / 2; i++) {
                        double angle = positions.getInt(t) * Math.pow(theta, -2.0 * i / d) * (inverse ? -1 : 1);
                        int at = (t * h + head) * d + i;
                        expected[at] = xs[at] * Math.cos(angle) - xs[at + d / 2] * Math.sin(angle);
                        expected[at + d / 2] = xs[at + d / 2] * Math.cos(angle) + xs[at] * Math.sin(angle);
                    }
                }
            }
            Tensor dx = dev.put(x);
            MODEL.rope(dx, dev.put(positions), theta, inverse);
            assertClose("x", dev.get(dx), expected, TOLERANCE);
        }
    }

    @Test
    void swigluForwardAndBackward() {
        try (HostTensors host = new HostTensors(); DeviceTensors dev = new DeviceTensors()) {
            Random random = new Random(HostTensors.seed("TornadoModelOpsTest swiglu"));
            Tensor gate = host.random(DType.F32, random, 13, 40);
            Tensor up = host.random(DType.F32, random, 13, 40);
            Tensor dout = host.random(DType.F32, random, 13, 40);
            double[] g = toDoubles(gate);
            double[] u = toDoubles(up);
            double[] dy = toDoubles(dout);
            double[] out = new double[g.length];
            double[] dg = new double[g.length];
            double[] du = new double[g.length];
            for (int i = 0; i < g.length; i++) {
                double sig = 1 / (1 + Math.exp(-g[i]));
                out[i] = g[i] * sig * u[i];
                du[i] = dy[i] * g[i] * sig;
                dg[i] = dy[i] * u[i] * sig * (1 + g[i] * (1 - sig));
            }
            Tensor dGate = dev.put(gate);
            Tensor dUp = dev.put(up);
            Tensor dOut = dev.zeros(DType.F32, 13, 40);
            Tensor dDg = dev.zeros(DType.F32, 13, 40);
            Tensor dDu = dev.zeros(DType.F32, 13, 40);
            MODEL.swigluForward(dGate, dUp, dOut);
            MODEL.swigluBackward(dGate, dUp, dev.put(dout), dDg, dDu);
            assertClose("out", dev.get(dOut), out, TOLERANCE);
            assertClose("dgate", dev.get(dDg), dg, TOLERANCE);
            assertClose("dup", dev.get(dDu), du, TOLERANCE);
        }
    }

    @Test
    void embeddingForwardAndBackwardWithRepeatedTokens() {
        int vocab = 30;
        int width = 70;
        int[] ids = {3, 17, 3, 0, 29, 17, 17, 5};
        try (HostTensors host = new HostTensors(); DeviceTensors dev = new DeviceTensors()) {
            Random random = new Random(HostTensors.seed("TornadoModelOpsTest embedding"));
            Tensor table = host.random(DType.F32, random, vocab, width);
            Tensor dtable = host.random(DType.F32, random, vocab, width);
            Tensor dout = host.random(DType.F32, random, ids.length, width);
            Tensor tokens = host.zeros(DType.I32, ids.length);
            for (int i = 0; i < ids.length; i++) {
                tokens.setInt(i, ids[i]);
            }
            double[] t = toDoubles(table);
            double[] dy = toDoubles(dout);
            double[] out = new double[ids.length * width];
            double[] dt = toDoubles(dtable);
            for (int s = 0; s < ids.length; s++) {
                for (int j = 0; j < width; j++) {
                    out[s * width + j] = t[ids[s] * width + j];
                    dt[ids[s] * width + j] += dy[s * width + j];
                }
            }
            Tensor dTokens = dev.put(tokens);
            Tensor dOut = dev.zeros(DType.F32, ids.length, width);
            Tensor dDtable = dev.put(dtable);
            MODEL.embeddingForward(dev.put(table), dTokens, dOut);
            MODEL.embeddingBackward(dTokens, dev.put(dout), dDtable);
            assertClose("out", dev.get(dOut), out, TOLERANCE);
            assertClose("dtable", dev.get(dDtable), dt, TOLERANCE);
            tokens.setInt(2, vocab);
            Tensor bad = dev.put(tokens);
            assertThrows(IllegalArgumentException.class, () -> MODEL.embeddingForward(dev.put(table), bad, dOut));
        }
    }

    @Test
    void crossEntropyWithAMaskedRow() {
        int rows = 5;
        int vocab = 300;
        float gradScale = 0.2f;
        int[] targets = {7, 299, -1, 0, 150};
        try (HostTensors host = new HostTensors(); DeviceTensors dev = new DeviceTensors()) {
            Random random = new Random(HostTensors.seed("TornadoModelOpsTest crossEntropy"));
            Tensor logits = host.random(DType.F32, random, rows, vocab);
            Tensor target = host.zeros(DType.I32, rows);
            for (int r = 0; r < rows; r++) {
                target.setInt(r, targets[r]);
            }
            double[] z = toDoubles(logits);
            double[] grad = new double[z.length];
            double[] loss = new double[rows];
            for (int r = 0; r < rows; r++) {
                if (targets[r] < 0) {
                    continue;
                }
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < vocab; j++) {
                    max = Math.max(max, z[r * vocab + j]);
                }
                double sum = 0;
                for (int j = 0; j < vocab; j++) {
                    sum += Math.exp(z[r * vocab + j] - max);
                }
                loss[r] = Math.log(sum) + max - z[r * vocab + targets[r]];
                for (int j = 0; j < vocab; j++) {
                    grad[r * vocab + j] = gradScale * (Math.exp(z[r * vocab + j] - max) / sum - (j == targets[r] ? 1 : 0));
                }
            }
            Tensor dLogits = dev.put(logits);
            Tensor dLoss = dev.zeros(DType.F32, rows);
            MODEL.crossEntropy(dLogits, dev.put(target), dLoss, gradScale);
            assertClose("losses", dev.get(dLoss), loss, TOLERANCE);
            assertClose("gradient", dev.get(dLogits), grad, TOLERANCE);
        }
    }

    @Test
    void adamwStep() {
        AdamWStep step = new AdamWStep(1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 7);
        try (HostTensors host = new HostTensors(); DeviceTensors dev = new DeviceTensors()) {
            Random random = new Random(HostTensors.seed("TornadoModelOpsTest adamw"));
            Tensor param = host.random(DType.F32, random, 1000);
            Tensor grad = host.random(DType.F32, random, 1000);
            Tensor m = host.random(DType.F32, random, 1000);
            Tensor v = host.zeros(DType.F32, 1000);
            for (int i = 0; i < 1000; i++) {
                v.setFloat(i, random.nextFloat());
            }
            double[] p = toDoubles(param);
            double[] g = toDoubles(grad);
            double[] ms = toDoubles(m);
            double[] vs = toDoubles(v);
            for (int i = 0; i < p.length; i++) {
                ms[i] = step.beta1() * ms[i] + (1 - step.beta1()) * g[i];
                vs[i] = step.beta2() * vs[i] + (1 - step.beta2()) * g[i] * g[i];
                double mHat = ms[i] / (1 - Math.pow(step.beta1(), step.step()));
                double vHat = vs[i] / (1 - Math.pow(step.beta2(), step.step()));
                p[i] -= step.lr() * (mHat / (Math.sqrt(vHat) + step.eps()) + step.weightDecay() * p[i]);
            }
            Tensor dP = dev.put(param);
            Tensor dM = dev.put(m);
            Tensor dV = dev.put(v);
            MODEL.adamw(dP, dev.put(grad), dM, dV, step);
            assertClose("param", dev.get(dP), p, TOLERANCE);
            assertClose("m", dev.get(dM), ms, TOLERANCE);
            assertClose("v", dev.get(dV), vs, TOLERANCE);
        }
    }
}
