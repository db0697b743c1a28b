package dev.longbow.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.longbow.backend.TensorOps;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Numerics;
import dev.longbow.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/** TensorOps on the GPU against float64 and exact references, aligned and unaligned, with tails. */
class CudaTensorOpsGpuTest extends GpuTest {
    private static final List<DType> FLOATS = List.of(DType.F32, DType.BF16, DType.F16);
    /** A size with a tail after the 16-byte packs, and one below a single pack. */
    private static final long[] SIZES = {100_003, 7};

    private TensorOps ops() {
        return backend.tensors();
    }

    @Test
    void convertRoundsToNearestEvenIncludingSpecialValues() {
        float[] special = {0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 65504f, 65520f, 1e-40f,
                3.0e38f, -1.00390625f, 1.0009765625f, 6.1e-5f};
        for (DType from : FLOATS) {
            for (DType to : FLOATS) {
                for (long n : SIZES) {
                    for (long misalign : new long[] {0, 1}) {
                        Tensor src = randomHost(from, n);
                        for (int i = 0; i < Math.min(n, special.length); i++) {
                            src.setFloat(i, special[i] * (1 + random.nextInt(3)));
                        }
                        Tensor out = dev.poisonedAt(misalign, to, n);
                        ops().convert(dev.uploadAt(misalign == 0 ? 1 : 0, src), out);
                        double[] expected = values(src);
                        for (int i = 0; i < expected.length; i++) {
                            expected[i] = Numerics.roundTo(to, (float) expected[i]);
                        }
                        Compare.exact(from + "->" + to + " n=" + n + " misalign=" + misalign, dev.download(out), expected);
                    }
                }
            }
        }
    }

    @Test
    void fillWritesEveryElement() {
        for (DType dtype : List.of(DType.F32, DType.BF16, DType.F16, DType.I32)) {
            for (long n : SIZES) {
                Tensor t = dev.poisonedAt(1, dtype, n);
                ops().fill(t, -3.75f);
                double[] expected = new double[(int) n];
                java.util.Arrays.fill(expected, dtype == DType.I32 ? -3 : -3.75);
                Compare.exact(dtype + " n=" + n, dev.download(t), expected);
            }
        }
    }

    @Test
    void axpyAndScaleMatchFloat64() {
        for (DType xt : FLOATS) {
            for (DType yt : FLOATS) {
                for (long n : SIZES) {
                    Tensor x = randomHost(xt, n);
                    Tensor y = randomHost(yt, n);
                    Tensor dy = dev.uploadAt(xt == yt ? 0 : 1, y);
                    ops().axpy(-0.375f, dev.upload(x), dy);
                    double[] expected = values(y);
                    double[] xs = values(x);
                    for (int i = 0; i < expected.length; i++) {
                        expected[i] = Numerics.roundTo(yt, (float) (expected[i] - 0.375 * xs[i]));
                    }
                    Compare.close("axpy " + xt + "->" + yt + " n=" + n, dev.download(dy), expected, ulps(yt));
                }
            }
            Tensor t = randomHost(xt, SIZES[0]);
            Tensor dt = dev.upload(t);
            ops().scale(dt, 1.7f);
            double[] expected = values(t);
            for (int i = 0; i < expected.length; i++) {
                expected[i] = Numerics.roundTo(xt, (float) (expected[i] * 1.7f));
            }
            Compare.close("scale " + xt, dev.download(dt), expected, ulps(xt));
        }
    }

    @Test
    void sumOfSquaresIsExactToFloat64Rounding() {
        for (DType dtype : FLOATS) {
            for (long n : new long[] {3_000_017, 5}) {
                Tensor t = randomHost(dtype, n);
                double expected = 0;
                for (double v : values(t)) {
                    expected += v * v;
                }
                double actual = ops().sumOfSquares(dev.uploadAt(1, t));
                assertEquals(expected, actual, 1e-12 * expected, dtype + " n=" + n);
            }
        }
    }

    @Test
    void swapLeadingDimsPermutesRowsExactly() {
        long[][] shapes = {{5, 3, 2, 64}, {5, 3, 3}, {7, 5, 3}, {33, 4, 1}, {1, 6, 8}};
        for (DType dtype : List.of(DType.BF16, DType.F32)) {
            for (long[] shape : shapes) {
                for (long misalign : new long[] {0, 1}) {
                    Tensor src = randomHost(dtype, shape);
                    long[] swapped = shape.clone();
                    swapped[0] = shape[1];
                    swapped[1] = shape[0];
                    Tensor out = dev.poisonedAt(misalign, dtype, swapped);
                    ops().swapLeadingDims(dev.upload(src), out);
                    double[] s = values(src);
                    double[] expected = new double[s.length];
                    long row = src.shape().stride(1);
                    for (int a = 0; a < shape[0]; a++) {
                        for (int b = 0; b < shape[1]; b++) {
                            System.arraycopy(s, (int) ((a * shape[1] + b) * row), expected, (int) ((b * shape[0] + a) * row), (int) row);
                        }
                    }
                    Compare.exact(dtype + " " + java.util.Arrays.toString(shape) + " misalign " + misalign, dev.download(out), expected);
                }
            }
        }
    }

    @Test
    void repeatHeadsCopiesAndSumRepeatedHeadsIsItsAdjoint() {
        for (DType dtype : FLOATS) {
            for (long d : new long[] {128, 3}) {
                int s = 37;
                int h = 3;
                int r = 4;
                Tensor few = randomHost(dtype, s, h, d);
                Tensor many = dev.poisoned(dtype, s, (long) h * r, d);
                ops().repeatHeads(dev.upload(few), many);
                double[] f = values(few);
                double[] expected = new double[f.length * r];
                for (int i = 0; i < s * h * r; i++) {
                    System.arraycopy(f, (int) ((i / r) * d), expected, (int) (i * d), (int) d);
                }
                Compare.exact("repeat " + dtype + " d=" + d, dev.download(many), expected);

                Tensor grads = randomHost(dtype, s, (long) h * r, d);
                Tensor summed = dev.poisoned(dtype, s, h, d);
                ops().sumRepeatedHeads(dev.upload(grads), summed);
                double[] g = values(grads);
                double[] sums = new double[f.length];
                for (int i = 0; i < g.length; i++) {
                    int row = (int) (i / d);
                    sums[(int) ((row / r) * d + i % d)] += g[i];
                }
                for (int i = 0; i < sums.length; i++) {
                    sums[i] = Numerics.roundTo(dtype, (float) sums[i]);
                }
                Compare.close("sumRepeated " + dtype + " d=" + d, dev.download(summed), sums, ulps(dtype));
            }
        }
    }

    /** A result rounded once to dtype from an fp32 computation: a couple of units in the last place. */
    private static double ulps(DType dtype) {
        return switch (dtype) {
            case F32 -> 1e-6;
            case BF16 -> 8e-3;
            default -> 1e-3;
        };
    }
}
