package dev.longbow.kernels;

import dev.longbow.backend.AttentionParams;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import dev.longbow.testing.ReferenceAttention;
import dev.longbow.testing.ReferenceAttention.Dims;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The flash kernels through the CUDA backend against the float64 ReferenceAttention: head dims
 * 64 and 128, and 16, 32 and 96 zero-padded to them (the model presets' 16 and 32), bf16 and f16, GQA, causal masks at block offsets (ring and zigzag steps, rows that
 * see no key), lengths that cut the 128-row tiles; and the LSE merge against its formula.
 */
class CudaAttentionGpuTest extends GpuTest {

    record Case(int sq, int sk, int hq, int hkv, int d, boolean causal, long qStart, long kStart) {
        Dims dims() {
            return new Dims(sq, sk, hq, hkv, d);
        }

        AttentionParams params() {
            return AttentionParams.of(d, causal).at(qStart, kStart);
        }
    }

    private static final List<Case> CASES = List.of(
            new Case(256, 256, 4, 4, 128, true, 0, 0),
            new Case(200, 333, 4, 2, 64, false, 0, 0),
            new Case(130, 257, 8, 2, 128, true, 512, 300),   // a later query block against earlier keys
            new Case(128, 128, 2, 1, 64, true, 0, 1000),      // every row sees no key: out 0, lse -inf
            new Case(300, 129, 4, 1, 128, true, 100, 0),      // the first rows see part of the block
            new Case(200, 150, 4, 2, 16, true, 0, 0),         // padded to 64
            new Case(130, 257, 4, 2, 32, true, 512, 300),     // padded to 64, at block offsets
            new Case(70, 90, 2, 1, 96, false, 0, 0));         // padded to 128

    @Test
    void forwardMatchesTheReference() {
        for (DType dtype : List.of(DType.BF16, DType.F16)) {
            for (Case c : CASES) {
                for (DType outType : List.of(dtype, DType.F32)) {
                    Tensor q = randomHost(dtype, c.sq, c.hq, c.d);
                    Tensor k = randomHost(dtype, c.sk, c.hkv, c.d);
                    Tensor v = randomHost(dtype, c.sk, c.hkv, c.d);
                    ReferenceAttention.Output ref = ReferenceAttention.forward(c.dims(), c.params(), values(q), values(k), values(v));
                    Tensor out = dev.poisoned(outType, c.sq, c.hq, c.d);
                    Tensor lse = dev.poisoned(DType.F32, c.sq, c.hq);
                    backend.attention().forward(dev.upload(q), dev.upload(k), dev.upload(v), out, lse, c.params());
                    String what = dtype + "->" + outType + " " + c;
                    Compare.close("out " + what, dev.download(out), ref.out(), Compare.tolerance(dtype));
                    Compare.close("lse " + what, dev.download(lse), ref.lse(), 1e-4);
                }
            }
        }
    }

    @Test
    void backwardAddsTheReferenceGradients() {
        for (DType dtype : List.of(DType.BF16, DType.F16)) {
            for (Case c : CASES) {
                Tensor q = randomHost(dtype, c.sq, c.hq, c.d);
                Tensor k = randomHost(dtype, c.sk, c.hkv, c.d);
                Tensor v = randomHost(dtype, c.sk, c.hkv, c.d);
                Tensor dout = randomHost(dtype, c.sq, c.hq, c.d);
                ReferenceAttention.Output fwd = ReferenceAttention.forward(c.dims(), c.params(), values(q), values(k), values(v));
                ReferenceAttention.Gradients ref = ReferenceAttention.backward(c.dims(), c.params(), values(q), values(k), values(v), values(dout));
                // The saved forward results, as a scheme keeps them: out in the input dtype, lse fp32.
                Tensor out = dev.host().of(dtype, fwd.out(), c.sq, c.hq, c.d);
                Tensor lse = dev.host().of(DType.F32, fwd.lse(), c.sq, c.hq);
                Tensor dq0 = randomHost(DType.F32, c.sq, c.hq, c.d);
                Tensor dk0 = randomHost(DType.F32, c.sk, c.hkv, c.d);
                Tensor dv0 = randomHost(DType.F32, c.sk, c.hkv, c.d);
                Tensor dq = dev.upload(dq0);
                Tensor dk = dev.upload(dk0);
                Tensor dv = dev.upload(dv0);
                backend.attention().backward(dev.upload(q), dev.upload(k), dev.upload(v), dev.upload(out), dev.upload(lse),
                        dev.upload(dout), dq, dk, dv, c.params());
                String what = dtype + " " + c;
                Compare.close("dq " + what, minus(dev.download(dq), values(dq0)), ref.dq(), Compare.tolerance(dtype));
                Compare.close("dk " + what, minus(dev.download(dk), values(dk0)), ref.dk(), Compare.tolerance(dtype));
                Compare.close("dv " + what, minus(dev.download(dv), values(dv0)), ref.dv(), Compare.tolerance(dtype));
            }
        }
    }

    @Test
    void mergeWeighsPartsByTheirLogSumExp() {
        int s = 70;
        int h = 3;
        int d = 128;
        for (DType partType : List.of(DType.F32, DType.BF16, DType.F16)) {
            Tensor out = randomHost(DType.F32, s, h, d);
            Tensor part = randomHost(partType, s, h, d);
            Tensor lse = randomHost(DType.F32, s, h);
            Tensor partLse = randomHost(DType.F32, s, h);
            for (int r = 0; r < 6; r++) {
                // rows 0-1: running result empty; 2-3: part empty; 4-5: both empty (out must become 0)
                if (r < 2 || r >= 4) {
                    lse.setFloat(r, Float.NEGATIVE_INFINITY);
                    for (int j = 0; j < d; j++) {
                        out.setFloat((long) r * d + j, 0);
                    }
                }
                if (r >= 2) {
                    partLse.setFloat(r, Float.NEGATIVE_INFINITY);
                    for (int j = 0; j < d; j++) {
                        part.setFloat((long) r * d + j, 0);
                    }
                }
            }
            double[] o = values(out);
            double[] p = values(part);
            double[] a = values(lse);
            double[] b = values(partLse);
            double[] mergedLse = new double[a.length];
            for (int r = 0; r < a.length; r++) {
                double m = Math.max(a[r], b[r]);
                mergedLse[r] = m == Double.NEGATIVE_INFINITY ? m : m + Math.log(Math.exp(a[r] - m) + Math.exp(b[r] - m));
                double wa = a[r] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(a[r] - mergedLse[r]);
                double wb = b[r] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(b[r] - mergedLse[r]);
                for (int j = 0; j < d; j++) {
                    o[r * d + j] = wa * o[r * d + j] + wb * p[r * d + j];
                }
            }
            Tensor outDev = dev.upload(out);
            Tensor lseDev = dev.upload(lse);
            backend.attention().merge(outDev, lseDev, dev.upload(part), dev.upload(partLse));
            Compare.close("merged out, part " + partType, dev.download(outDev), o, 1e-6);
            Compare.close("merged lse, part " + partType, dev.download(lseDev), mergedLse, 1e-6);
        }
    }

    private static double[] minus(double[] a, double[] b) {
        double[] r = a.clone();
        for (int i = 0; i < r.length; i++) {
            r[i] -= b[i];
        }
        return r;
    }
}
