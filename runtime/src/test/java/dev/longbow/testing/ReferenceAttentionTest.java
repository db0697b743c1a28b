package dev.longbow.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.longbow.backend.AttentionParams;
import dev.longbow.testing.ReferenceAttention.Dims;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The oracle checked against first principles: central differences and the softmax's definition. */
class ReferenceAttentionTest {

    @Test
    void backwardIsTheGradientOfForward() {
        Random random = new Random(HostTensors.seed("ReferenceAttentionTest.backwardIsTheGradientOfForward"));
        Dims dims = new Dims(5, 7, 4, 2, 3);
        // Causal with offsets so that some scores are masked but every row sees a key.
        AttentionParams params = new AttentionParams(0.7f, true, 4, 2);
        double[] q = gaussian(random, dims.queryElements());
        double[] k = gaussian(random, dims.keyElements());
        double[] v = gaussian(random, dims.keyElements());
        double[] dout = gaussian(random, dims.queryElements());
        ReferenceAttention.Gradients g = ReferenceAttention.backward(dims, params, q, k, v, dout);
        double[][] inputs = {q, k, v};
        double[][] analytic = {g.dq(), g.dk(), g.dv()};
        for (int which = 0; which < 3; which++) {
            double[] x = inputs[which];
            double[] numeric = new double[x.length];
            for (int i = 0; i < x.length; i++) {
                double keep = x[i];
                double h = 1e-5;
                x[i] = keep + h;
                double up = loss(dims, params, q, k, v, dout);
                x[i] = keep - h;
                double down = loss(dims, params, q, k, v, dout);
                x[i] = keep;
                numeric[i] = (up - down) / (2 * h);
            }
            HostTensors.assertClose("d" + "qkv".charAt(which), analytic[which], numeric, 1e-7);
        }
    }

    @Test
    void rowsSumToOneAndLseIsTheLogOfTheNormaliser() {
        // With v = 1 every output element is the row's probability mass; with one visible key the
        // lse is that key's scaled score.
        Dims dims = new Dims(3, 3, 1, 1, 2);
        AttentionParams params = new AttentionParams(0.5f, true, 0, 0);
        double[] q = {1, 2, 3, 4, 5, 6};
        double[] k = {0.5, -1, 2, 0, 1, 1};
        double[] ones = {1, 1, 1, 1, 1, 1};
        ReferenceAttention.Output o = ReferenceAttention.forward(dims, params, q, k, ones);
        for (double x : o.out()) {
            assertEquals(1, x, 1e-15);
        }
        assertEquals(0.5 * (1 * 0.5 + 2 * -1), o.lse()[0], 1e-15);
        double s0 = 0.5 * (3 * 0.5 + 4 * -1);
        double s1 = 0.5 * (3 * 2 + 4 * 0);
        assertEquals(Math.log(Math.exp(s0) + Math.exp(s1)), o.lse()[1], 1e-15);
    }

    @Test
    void rowsThatSeeNoKeyGiveZeroAndMinusInfinity() {
        Dims dims = new Dims(2, 2, 1, 1, 1);
        AttentionParams params = new AttentionParams(1f, true, 0, 1);
        ReferenceAttention.Output o = ReferenceAttention.forward(dims, params, new double[] {1, 1}, new double[] {1, 1}, new double[] {3, 4});
        assertEquals(0, o.out()[0]);
        assertEquals(Double.NEGATIVE_INFINITY, o.lse()[0]);
        assertEquals(3, o.out()[1], 1e-15);
        ReferenceAttention.Gradients g = ReferenceAttention.backward(dims, params, new double[] {1, 1}, new double[] {1, 1},
                new double[] {3, 4}, new double[] {1, 1});
        assertEquals(0, g.dq()[0]);
    }

    private static double loss(Dims dims, AttentionParams params, double[] q, double[] k, double[] v, double[] dout) {
        double[] out = ReferenceAttention.forward(dims, params, q, k, v).out();
        double s = 0;
        for (int i = 0; i < out.length; i++) {
            s += out[i] * dout[i];
        }
        return s;
    }

    static double[] gaussian(Random random, int n) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = random.nextGaussian();
        }
        return a;
    }
}
