package dev.longbow.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.longbow.testing.HostTensors;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The vector building blocks against float64. */
class KernelsTest {

    @Test
    void exp2IsAccurateToAFewUlpAndFlushesBelowTheNormalRange() {
        int lanes = MicroGemm.LANES;
        float[] x = new float[lanes];
        float[] y = new float[lanes];
        double worst = 0;
        for (float start = -126f; start <= 10f; start += 0.0137f * lanes) {
            for (int i = 0; i < lanes; i++) {
                x[i] = start + 0.0137f * i;
            }
            VectorExp.exp2(FloatVector.fromArray(MicroGemm.F, x, 0)).intoArray(y, 0);
            for (int i = 0; i < lanes; i++) {
                double exact = Math.pow(2, x[i]);
                worst = Math.max(worst, Math.abs(y[i] - exact) / exact);
            }
        }
        assertEquals(0, worst, 3e-7, "worst relative error");
        x[0] = Float.NEGATIVE_INFINITY;
        x[lanes - 1] = -200f;
        VectorExp.exp2(FloatVector.fromArray(MicroGemm.F, x, 0)).intoArray(y, 0);
        assertEquals(0f, y[0]);
        assertEquals(0f, y[lanes - 1]);
    }

    /** Every register blocking, whatever this machine prefers: the AVX2 one runs on AVX-512 machines too. */
    @ParameterizedTest
    @EnumSource(MicroGemm.Blocking.class)
    void microGemmWithTransposedAAndTails(MicroGemm.Blocking blocking) {
        Random random = new Random(HostTensors.seed("KernelsTest.microGemm " + blocking));
        // 21 rows take the eight-row blocks (where the blocking has them), then four-row ones, then single
        // rows; on four vectors the six-row blocks, then three single rows; 16 rows leave four there.
        int k = 11;
        // Five vectors of columns take the three- and two-vector panels, four the six-row panel (or two
        // two-vector ones), one the one-vector one.
        for (int m : new int[] {21, 16}) {
            for (int n : new int[] {5 * MicroGemm.LANES, 4 * MicroGemm.LANES, MicroGemm.LANES}) {
                checkMicroGemm(blocking, random, m, n, k);
            }
        }
    }

    private static void checkMicroGemm(MicroGemm.Blocking blocking, Random random, int m, int n, int k) {
        float[] a = new float[m * k];
        float[] b = new float[k * n];
        float[] c = new float[m * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) random.nextGaussian();
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = (float) random.nextGaussian();
        }
        for (boolean transposed : new boolean[] {false, true}) {
            // A(i, p) is a[i * k + p], or a[p * m + i] when A is read transposed.
            int aRow = transposed ? 1 : k;
            int aCol = transposed ? m : 1;
            java.util.Arrays.fill(c, 1f);
            MicroGemm.multiply(blocking, m, n, k, a, 0, aRow, aCol, b, 0, n, c, 0, n, true);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double expected = 1;
                    for (int p = 0; p < k; p++) {
                        expected += (double) a[i * aRow + p * aCol] * b[p * n + j];
                    }
                    assertEquals(expected, c[i * n + j], 1e-5, "C[" + i + "][" + j + "] n=" + n + " transposed=" + transposed);
                }
            }
        }
    }
}
