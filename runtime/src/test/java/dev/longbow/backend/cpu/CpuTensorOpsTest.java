package dev.longbow.backend.cpu;

import dev.longbow.backend.BackendChoice;
import static dev.longbow.testing.HostTensors.assertClose;
import static dev.longbow.testing.HostTensors.toDoubles;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.backend.Backends;
import dev.longbow.backend.TensorOps;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Numerics;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Tensor;
import dev.longbow.testing.HostTensors;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Each op against a float64 loop written out here. Sizes cross the ops' chunk boundaries. */
class CpuTensorOpsTest {
    private static final TensorOps OPS = Backends.open(BackendChoice.CPU, 0).tensors();
    private static final int N = 40_003;

    @Test
    void convertRoundsToNearestEvenBetweenEveryPair() {
        Random random = new Random(HostTensors.seed("CpuTensorOpsTest.convert"));
        try (HostTensors mem = new HostTensors()) {
            for (DType from : new DType[] {DType.F32, DType.BF16, DType.F16}) {
                Tensor src = mem.random(from, random, N);
                for (DType to : new DType[] {DType.F32, DType.BF16, DType.F16}) {
                    Tensor dst = mem.zeros(to, N);
                    OPS.convert(src, dst);
                    for (int i = 0; i < N; i++) {
                        assertEquals(Numerics.roundTo(to, src.getFloat(i)), dst.getFloat(i), from + "->" + to + " at " + i);
                    }
                }
            }
        }
    }

    @Test
    void copyFillAxpyScaleAndSumOfSquares() {
        Random random = new Random(HostTensors.seed("CpuTensorOpsTest.elementwise"));
        try (HostTensors mem = new HostTensors()) {
            Tensor x = mem.random(DType.F32, random, N);
            Tensor y = mem.random(DType.BF16, random, N);
            assertThrows(IllegalArgumentException.class, () -> OPS.copy(x, y));
            Tensor same = mem.zeros(DType.F32, N);
            OPS.copy(x, same);
            assertArrayEquals(toDoubles(x), toDoubles(same));

            double[] xd = toDoubles(x);
            double[] yd = toDoubles(y);
            OPS.axpy(-0.75f, x, y);
            for (int i = 0; i < N; i++) {
                // One fp32 rounding (fma, 2^-24) then one to bf16 (half an ulp, 2^-8): under 2^-7 of the exact value,
                // however much y and alpha*x cancel.
                double exact = yd[i] - 0.75 * xd[i];
                assertEquals(exact, y.getFloat(i), 0x1p-7 * Math.abs(exact) + 1e-30, "axpy at " + i);
            }
            OPS.scale(x, 3f);
            for (int i = 0; i < N; i++) {
                assertEquals((float) (3 * xd[i]), x.getFloat(i));
            }
            double expected = 0;
            for (double v : toDoubles(x)) {
                expected += v * v;
            }
            assertEquals(expected, OPS.sumOfSquares(x), 1e-6 * expected);
            OPS.fill(y, 2.5f);
            for (int i = 0; i < N; i++) {
                assertEquals(2.5f, y.getFloat(i));
            }
        }
    }

    @Test
    void swapLeadingDimsIsTheTranspose() {
        Random random = new Random(HostTensors.seed("CpuTensorOpsTest.swap"));
        try (HostTensors mem = new HostTensors()) {
            Tensor src = mem.random(DType.BF16, random, 5, 3, 4, 7);
            Tensor dst = mem.zeros(DType.BF16, 3, 5, 4, 7);
            OPS.swapLeadingDims(src, dst);
            for (int a = 0; a < 5; a++) {
                for (int b = 0; b < 3; b++) {
                    for (int r = 0; r < 28; r++) {
                        assertEquals(src.getFloat((a * 3 + b) * 28 + r), dst.getFloat((b * 5 + a) * 28 + r));
                    }
                }
            }
            var e = assertThrows(IllegalArgumentException.class, () -> OPS.swapLeadingDims(src, mem.zeros(DType.BF16, 5, 3, 4, 7)));
            assertTrue(e.getMessage().contains("needs dst shape [3, 5, 4, 7]"), e.getMessage());
        }
    }

    @Test
    void repeatHeadsAndItsAdjoint() {
        Random random = new Random(HostTensors.seed("CpuTensorOpsTest.repeatHeads"));
        int s = 6;
        int h = 2;
        int r = 3;
        int d = 5;
        try (HostTensors mem = new HostTensors()) {
            Tensor few = mem.random(DType.F32, random, s, h, d);
            Tensor many = mem.zeros(DType.F32, s, h * r, d);
            OPS.repeatHeads(few, many);
            Tensor grads = mem.random(DType.F32, random, s, h * r, d);
            Tensor summed = mem.zeros(DType.F32, s, h, d);
            OPS.sumRepeatedHeads(grads, summed);
            double[] expectedSum = new double[s * h * d];
            for (int t = 0; t < s; t++) {
                for (int head = 0; head < h * r; head++) {
                    for (int e = 0; e < d; e++) {
                        assertEquals(few.getFloat((t * h + head / r) * d + e), many.getFloat((t * h * r + head) * d + e));
                        expectedSum[(t * h + head / r) * d + e] += grads.getFloat((t * h * r + head) * d + e);
                    }
                }
            }
            assertClose("sumRepeatedHeads", toDoubles(summed), expectedSum, 1e-7);
        }
    }

    @Test
    void deviceTensorsAreRefused() {
        try (HostTensors mem = new HostTensors()) {
            Tensor host = mem.zeros(DType.F32, 4);
            Tensor device = new Tensor(host.data(), DType.F32, host.shape(), Placement.DEVICE);
            var e = assertThrows(IllegalArgumentException.class, () -> OPS.copy(host, device));
            assertTrue(e.getMessage().contains("host tensors only"), e.getMessage());
        }
    }
}
