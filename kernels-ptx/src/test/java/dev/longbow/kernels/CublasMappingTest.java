package dev.longbow.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The row-major to column-major mapping of {@link CublasMatmul}, checked without a GPU: the
 * arguments it would pass to cublasGemmEx, run through a plain column-major GEMM written from
 * the BLAS definition, must give the row-major product of the row-major operands.
 */
class CublasMappingTest {

    @Test
    void everyTransposeCombinationGivesTheRowMajorProduct() {
        Random random = new Random(7);
        int m = 5;
        int n = 3;
        int k = 4;
        for (int layout = 0; layout < 4; layout++) {
            boolean ta = (layout & 2) != 0;
            boolean tb = (layout & 1) != 0;
            double[] a = random.doubles(m * k).toArray();   // [M, K], or [K, M] when ta
            double[] b = random.doubles(k * n).toArray();   // [K, N], or [N, K] when tb
            double[] expected = new double[m * n];
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    for (int p = 0; p < k; p++) {
                        expected[i * n + j] += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
                    }
                }
            }
            CublasMatmul.ColumnMajor g = CublasMatmul.columnMajor(ta, tb, m, n, k);
            double[] c = new double[m * n];
            columnMajorGemm(g.transFirst(), g.transSecond(), n, m, k, b, g.ldFirst(), a, g.ldSecond(), c, g.ldc());
            assertArrayEquals(expected, c, 1e-12, "ta=" + ta + " tb=" + tb);
        }
    }

    /** BLAS gemm, column-major: C [rows x cols] = op(X) [rows x k] op(Y) [k x cols]; element (r, c) of Z is Z[r + c * ld]. */
    private static void columnMajorGemm(boolean transX, boolean transY, int rows, int cols, int k,
                                        double[] x, int ldx, double[] y, int ldy, double[] c, int ldc) {
        for (int r = 0; r < rows; r++) {
            for (int col = 0; col < cols; col++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    double xv = transX ? x[p + r * ldx] : x[r + p * ldx];
                    double yv = transY ? y[col + p * ldy] : y[p + col * ldy];
                    s += xv * yv;
                }
                c[r + col * ldc] = s;
            }
        }
    }
}
