package dev.longbow.backend.cpu;

import dev.longbow.backend.BackendChoice;
import static dev.longbow.testing.HostTensors.assertClose;
import static dev.longbow.testing.HostTensors.toDoubles;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.backend.AttentionOps;
import dev.longbow.backend.AttentionParams;
import dev.longbow.backend.Backends;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import dev.longbow.testing.HostTensors;
import dev.longbow.testing.ReferenceAttention;
import dev.longbow.testing.ReferenceAttention.Dims;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** The flash kernels against the float64 {@link ReferenceAttention}. */
class CpuAttentionTest {
    private static final AttentionOps ATTENTION = Backends.open(BackendChoice.CPU, 0).attention();

    /** q, k, v, dout in one dtype, the float64 values they hold, and the reference results. */
    private record Problem(Dims dims, AttentionParams params, Tensor q, Tensor k, Tensor v, Tensor dout,
                           ReferenceAttention.Output expected, ReferenceAttention.Gradients gradients) {

        static Problem random(HostTensors mem, String name, Dims dims, AttentionParams params, DType dtype) {
            Random random = new Random(HostTensors.seed(name));
            Tensor q = mem.random(dtype, random, dims.sq(), dims.hq(), dims.d());
            Tensor k = mem.random(dtype, random, dims.sk(), dims.hkv(), dims.d());
            Tensor v = mem.random(dtype, random, dims.sk(), dims.hkv(), dims.d());
            Tensor dout = mem.random(dtype, random, dims.sq(), dims.hq(), dims.d());
            double[] qd = toDoubles(q);
            double[] kd = toDoubles(k);
            double[] vd = toDoubles(v);
            return new Problem(dims, params, q, k, v, dout, ReferenceAttention.forward(dims, params, qd, kd, vd),
                    ReferenceAttention.backward(dims, params, qd, kd, vd, toDoubles(dout)));
        }

        Tensor queryShaped(HostTensors mem, DType dtype) {
            return mem.zeros(dtype, dims.sq(), dims.hq(), dims.d());
        }

        Tensor keyShaped(HostTensors mem) {
            return mem.zeros(DType.F32, dims.sk(), dims.hkv(), dims.d());
        }

        Tensor lse(HostTensors mem) {
            return mem.zeros(DType.F32, dims.sq(), dims.hq());
        }
    }

    static Stream<Arguments> shapes() {
        return Stream.of(
                // sq, sk, hq, hkv, d, causal, qStart, kStart
                Arguments.of(130, 130, 2, 2, 64, true, 0, 0),
                Arguments.of(130, 70, 4, 2, 128, false, 0, 0),
                Arguments.of(77, 150, 4, 1, 37, true, 100, 0),
                Arguments.of(100, 90, 2, 1, 64, true, 0, 30),
                Arguments.of(3, 200, 3, 3, 256, true, 190, 0));
    }

    @ParameterizedTest(name = "sq={0} sk={1} hq={2} hkv={3} d={4} causal={5} qStart={6} kStart={7}")
    @MethodSource("shapes")
    void forwardAndBackwardMatchTheReference(int sq, int sk, int hq, int hkv, int d, boolean causal, long qStart, long kStart) {
        Dims dims = new Dims(sq, sk, hq, hkv, d);
        AttentionParams params = AttentionParams.of(d, causal).at(qStart, kStart);
        try (HostTensors mem = new HostTensors()) {
            Problem p = Problem.random(mem, "CpuAttentionTest " + dims + " " + params, dims, params, DType.F32);
            Tensor out = p.queryShaped(mem, DType.F32);
            Tensor lse = p.lse(mem);
            ATTENTION.forward(p.q, p.k, p.v, out, lse, params);
            assertClose("out", toDoubles(out), p.expected.out(), 2e-6);
            assertClose("lse", toDoubles(lse), p.expected.lse(), 2e-6);

            // The gradients accumulate onto what dq, dk, dv already hold.
            Random random = new Random(sq * 31L + d);
            Tensor dq = mem.random(DType.F32, random, sq, hq, d);
            Tensor dk = mem.random(DType.F32, random, sk, hkv, d);
            Tensor dv = mem.random(DType.F32, random, sk, hkv, d);
            double[] dq0 = toDoubles(dq);
            double[] dk0 = toDoubles(dk);
            double[] dv0 = toDoubles(dv);
            ATTENTION.backward(p.q, p.k, p.v, out, lse, p.dout, dq, dk, dv, params);
            assertClose("dq", minus(toDoubles(dq), dq0), p.gradients.dq(), 1e-5);
            assertClose("dk", minus(toDoubles(dk), dk0), p.gradients.dk(), 1e-5);
            assertClose("dv", minus(toDoubles(dv), dv0), p.gradients.dv(), 1e-5);
        }
    }

    @Test
    void rowsThatSeeNoKeyGiveZeroMinusInfinityAndNoGradient() {
        // Keys start at position 40: query rows 0..39 see nothing.
        Dims dims = new Dims(70, 50, 2, 1, 16);
        AttentionParams params = AttentionParams.of(16, true).at(0, 40);
        try (HostTensors mem = new HostTensors()) {
            Problem p = Problem.random(mem, "CpuAttentionTest.rowsThatSeeNoKey", dims, params, DType.F32);
            Tensor out = p.queryShaped(mem, DType.F32);
            Tensor lse = p.lse(mem);
            ATTENTION.forward(p.q, p.k, p.v, out, lse, params);
            for (int row = 0; row < 40 * 2; row++) {
                assertEquals(Float.NEGATIVE_INFINITY, lse.getFloat(row));
                for (int e = 0; e < 16; e++) {
                    assertEquals(0f, out.getFloat(row * 16L + e));
                }
            }
            assertClose("out", toDoubles(out), p.expected.out(), 2e-6);
            Tensor dq = p.queryShaped(mem, DType.F32);
            Tensor dk = p.keyShaped(mem);
            Tensor dv = p.keyShaped(mem);
            ATTENTION.backward(p.q, p.k, p.v, out, lse, p.dout, dq, dk, dv, params);
            for (int i = 0; i < 40 * 2 * 16; i++) {
                assertEquals(0f, dq.getFloat(i));
            }
            assertClose("dq", toDoubles(dq), p.gradients.dq(), 1e-5);
            assertClose("dk", toDoubles(dk), p.gradients.dk(), 1e-5);

            // Merging a part that saw nothing leaves the running result alone.
            Tensor runOut = mem.random(DType.F32, new Random(1), 70, 2, 16);
            Tensor runLse = mem.filled(DType.F32, 0.5f, 70, 2);
            double[] before = toDoubles(runOut);
            ATTENTION.merge(runOut, runLse, out, lse);
            for (int row = 0; row < 40 * 2; row++) {
                assertEquals(0.5f, runLse.getFloat(row));
                for (int e = 0; e < 16; e++) {
                    assertEquals(before[row * 16 + e], runOut.getFloat(row * 16L + e));
                }
            }
        }
    }

    /** Ring attention's step: the keys in two blocks, each attended with its positions, merged by LSE. */
    @Test
    void keyBlocksMergeAndTheirGradientsSumToTheWhole() {
        Dims dims = new Dims(96, 150, 4, 2, 64);
        AttentionParams params = AttentionParams.of(64, true).at(60, 0);
        int split = 75;
        try (HostTensors mem = new HostTensors()) {
            Problem p = Problem.random(mem, "CpuAttentionTest.keyBlocksMerge", dims, params, DType.F32);
            Tensor out = p.queryShaped(mem, DType.F32);
            Tensor lse = mem.filled(DType.F32, Float.NEGATIVE_INFINITY, dims.sq(), dims.hq());
            Tensor partOut = p.queryShaped(mem, DType.F32);
            Tensor partLse = p.lse(mem);
            for (int[] block : new int[][] {{0, split}, {split, dims.sk()}}) {
                ATTENTION.forward(p.q, p.k.slice(block[0], block[1]), p.v.slice(block[0], block[1]), partOut, partLse,
                        params.at(60, block[0]));
                ATTENTION.merge(out, lse, partOut, partLse);
            }
            assertClose("merged out", toDoubles(out), p.expected.out(), 2e-6);
            assertClose("merged lse", toDoubles(lse), p.expected.lse(), 2e-6);

            Tensor dq = p.queryShaped(mem, DType.F32);
            Tensor dk = p.keyShaped(mem);
            Tensor dv = p.keyShaped(mem);
            for (int[] block : new int[][] {{0, split}, {split, dims.sk()}}) {
                ATTENTION.backward(p.q, p.k.slice(block[0], block[1]), p.v.slice(block[0], block[1]), out, lse, p.dout,
                        dq, dk.slice(block[0], block[1]), dv.slice(block[0], block[1]), params.at(60, block[0]));
            }
            assertClose("dq", toDoubles(dq), p.gradients.dq(), 1e-5);
            assertClose("dk", toDoubles(dk), p.gradients.dk(), 1e-5);
            assertClose("dv", toDoubles(dv), p.gradients.dv(), 1e-5);
        }
    }

    @Test
    void mergeTakesPartsInTheInputDtype() {
        Dims dims = new Dims(40, 90, 2, 2, 32);
        AttentionParams params = AttentionParams.of(32, false);
        try (HostTensors mem = new HostTensors()) {
            Problem p = Problem.random(mem, "CpuAttentionTest.mergeBf16Parts", dims, params, DType.BF16);
            Tensor out = p.queryShaped(mem, DType.F32);
            Tensor lse = mem.filled(DType.F32, Float.NEGATIVE_INFINITY, dims.sq(), dims.hq());
            Tensor partOut = p.queryShaped(mem, DType.BF16);
            Tensor partLse = p.lse(mem);
            for (int[] block : new int[][] {{0, 30}, {30, 90}}) {
                ATTENTION.forward(p.q, p.k.slice(block[0], block[1]), p.v.slice(block[0], block[1]), partOut, partLse, params);
                ATTENTION.merge(out, lse, partOut, partLse);
            }
            // Each part is rounded to bf16 once (2^-9 relative), the merge itself is fp32.
            assertClose("merged out", toDoubles(out), p.expected.out(), 4e-3);
            assertClose("merged lse", toDoubles(lse), p.expected.lse(), 2e-6);
        }
    }

    @Test
    void sixteenBitStorageComputesInFp32() {
        for (DType dtype : new DType[] {DType.BF16, DType.F16}) {
            Dims dims = new Dims(100, 100, 4, 2, 64);
            AttentionParams params = AttentionParams.of(64, true);
            try (HostTensors mem = new HostTensors()) {
                Problem p = Problem.random(mem, "CpuAttentionTest.sixteenBit " + dtype, dims, params, dtype);
                // fp32 out: only the fp32 arithmetic differs from the reference on the rounded inputs.
                Tensor out = p.queryShaped(mem, DType.F32);
                Tensor lse = p.lse(mem);
                ATTENTION.forward(p.q, p.k, p.v, out, lse, params);
                assertClose(dtype + " q, k, v; F32 out", toDoubles(out), p.expected.out(), 2e-6);
                Tensor dq = p.queryShaped(mem, DType.F32);
                Tensor dk = p.keyShaped(mem);
                Tensor dv = p.keyShaped(mem);
                ATTENTION.backward(p.q, p.k, p.v, out, lse, p.dout, dq, dk, dv, params);
                assertClose(dtype + " dq", toDoubles(dq), p.gradients.dq(), 1e-5);
                assertClose(dtype + " dk", toDoubles(dk), p.gradients.dk(), 1e-5);
                assertClose(dtype + " dv", toDoubles(dv), p.gradients.dv(), 1e-5);
                // Out in the input dtype: rounding it costs half an ulp (2^-9 relative for bf16).
                Tensor narrowOut = p.queryShaped(mem, dtype);
                ATTENTION.forward(p.q, p.k, p.v, narrowOut, lse, params);
                assertClose(dtype + " out", toDoubles(narrowOut), p.expected.out(), dtype == DType.BF16 ? 4e-3 : 5e-4);
            }
        }
    }

    @Test
    void badCallsSayWhatIsWrong() {
        try (HostTensors mem = new HostTensors()) {
            Tensor q = mem.zeros(DType.F32, 8, 3, 16);
            Tensor k = mem.zeros(DType.F32, 8, 2, 16);
            Tensor lse = mem.zeros(DType.F32, 8, 3);
            var e = assertThrows(IllegalArgumentException.class,
                    () -> ATTENTION.forward(q, k, k, q, lse, AttentionParams.of(16, true)));
            assertTrue(e.getMessage().contains("query heads 3 not a multiple of key/value heads 2"), e.getMessage());

            Tensor q4 = mem.zeros(DType.F32, 8, 4, 16);
            Tensor bf16Grad = mem.zeros(DType.BF16, 8, 4, 16);
            e = assertThrows(IllegalArgumentException.class, () -> ATTENTION.backward(q4, k, k, q4,
                    mem.zeros(DType.F32, 8, 4), q4, bf16Grad, k, k, AttentionParams.of(16, true)));
            assertTrue(e.getMessage().contains("dq must be F32"), e.getMessage());

            e = assertThrows(IllegalArgumentException.class,
                    () -> ATTENTION.forward(q4, k, k, q4, lse, AttentionParams.of(16, true)));
            assertTrue(e.getMessage().contains("lse must have shape [8, 4]"), e.getMessage());
        }
    }

    private static double[] minus(double[] a, double[] b) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i] - b[i];
        }
        return d;
    }
}
