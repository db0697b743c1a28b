package dev.longbow.tornado.vm;

import static dev.longbow.testing.HostTensors.assertClose;
import static dev.longbow.testing.HostTensors.toDoubles;
import static dev.longbow.tornado.vm.DeviceTensors.CPU;
import static dev.longbow.tornado.vm.DeviceTensors.TORNADO;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.backend.AttentionParams;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import dev.longbow.testing.HostTensors;
import dev.longbow.testing.ReferenceAttention;
import dev.longbow.testing.ReferenceAttention.Dims;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The flash kernels against the CPU backend on fresh random inputs, and once against the float64 reference. */
class TornadoAttentionTest {
    private static final double TOLERANCE = 1e-4;

    static Stream<Arguments> shapes() {
        return Stream.of(
                // sq, sk, hq, hkv, d, causal, qStart, kStart
                Arguments.of(70, 70, 2, 2, 64, true, 0, 0),
                Arguments.of(45, 33, 4, 2, 128, false, 0, 0),
                Arguments.of(37, 50, 4, 1, 37, true, 20, 0),
                // Keys start after the first queries: rows 0..9 see no key (out 0, lse -inf).
                Arguments.of(40, 30, 2, 1, 16, true, 0, 10));
    }

    @ParameterizedTest(name = "sq={0} sk={1} hq={2} hkv={3} d={4} causal={5} qStart={6} kStart={7}")
    @MethodSource("shapes")
    void forwardAndBackwardMatchTheCpuBackend(int sq, int sk, int hq, int hkv, int d, boolean causal, long qStart, long kStart) {
        AttentionParams params = AttentionParams.of(d, causal).at(qStart, kStart);
        try (HostTensors host = new HostTensors(); DeviceTensors dev = new DeviceTensors()) {
            Random random = new Random(HostTensors.seed("TornadoAttentionTest " + sq + "x" + sk + " " + params));
            Tensor q = host.random(DType.F32, random, sq, hq, d);
            Tensor k = host.random(DType.F32, random, sk, hkv, d);
            Tensor v = host.random(DType.F32, random, sk, hkv, d);
            Tensor dout = host.random(DType.F32, random, sq, hq, d);
            Tensor out = host.zeros(DType.F32, sq, hq, d);
            Tensor lse = host.zeros(DType.F32, sq, hq);
            // The gradients accumulate: both sides start from the same non-zero values.
            Tensor dq = host.random(DType.F32, random, sq, hq, d);
            Tensor dk = host.random(DType.F32, random, sk, hkv, d);
            Tensor dv = host.random(DType.F32, random, sk, hkv, d);
            Tensor dOut = dev.zeros(DType.F32, sq, hq, d);
            Tensor dLse = dev.zeros(DType.F32, sq, hq);
            Tensor dDq = dev.put(dq);
            Tensor dDk = dev.put(dk);
            Tensor dDv = dev.put(dv);
            Tensor dQ = dev.put(q);
            Tensor dK = dev.put(k);
            Tensor dV = dev.put(v);

            CPU.attention().forward(q, k, v, out, lse, params);
            CPU.attention().backward(q, k, v, out, lse, dout, dq, dk, dv, params);
            TORNADO.attention().forward(dQ, dK, dV, dOut, dLse, params);
            TORNADO.attention().backward(dQ, dK, dV, dOut, dLse, dev.put(dout), dDq, dDk, dDv, params);

            assertClose("out", dev.get(dOut), toDoubles(out), TOLERANCE);
            assertClose("lse", dev.get(dLse), toDoubles(lse), TOLERANCE);
            assertClose("dq", dev.get(dDq), toDoubles(dq), TOLERANCE);
            assertClose("dk", dev.get(dDk), toDoubles(dk), TOLERANCE);
            assertClose("dv", dev.get(dDv), toDoubles(dv), TOLERANCE);
        }
    }

    @Test
    void causalGqaMatchesTheFloat64Reference() {
        Dims dims = new Dims(50, 50, 6, 2, 48);
        AttentionParams params = AttentionParams.of(dims.d(), true);
        try (HostTensors host = new HostTensors(); DeviceTensors dev = new DeviceTensors()) {
            Random random = new Random(HostTensors.seed("TornadoAttentionTest reference"));
            Tensor q = host.random(DType.F32, random, dims.sq(), dims.hq(), dims.d());
            Tensor k = host.random(DType.F32, random, dims.sk(), dims.hkv(), dims.d());
            Tensor v = host.random(DType.F32, random, dims.sk(), dims.hkv(), dims.d());
            Tensor dout = host.random(DType.F32, random, dims.sq(), dims.hq(), dims.d());
            ReferenceAttention.Output expected = ReferenceAttention.forward(dims, params, toDoubles(q), toDoubles(k), toDoubles(v));
            ReferenceAttention.Gradients grads = ReferenceAttention.backward(dims, params, toDoubles(q), toDoubles(k), toDoubles(v), toDoubles(dout));
            Tensor out = dev.zeros(DType.F32, dims.sq(), dims.hq(), dims.d());
            Tensor lse = dev.zeros(DType.F32, dims.sq(), dims.hq());
            Tensor dq = dev.zeros(DType.F32, dims.sq(), dims.hq(), dims.d());
            Tensor dk = dev.zeros(DType.F32, dims.sk(), dims.hkv(), dims.d());
            Tensor dv = dev.zeros(DType.F32, dims.sk(), dims.hkv(), dims.d());
            Tensor dQ = dev.put(q);
            Tensor dK = dev.put(k);
            Tensor dV = dev.put(v);
            TORNADO.attention().forward(dQ, dK, dV, out, lse, params);
            TORNADO.attention().backward(dQ, dK, dV, out, lse, dev.put(dout), dq, dk, dv, params);
            assertClose("out", dev.get(out), expected.out(), 1e-5);
            assertClose("lse", dev.get(lse), expected.lse(), 1e-5);
            assertClose("dq", dev.get(dq), grads.dq(), 1e-5);
            assertClose("dk", dev.get(dk), grads.dk(), 1e-5);
            assertClose("dv", dev.get(dv), grads.dv(), 1e-5);
        }
    }

    @Test
    void mergeMatchesTheCpuBackendIncludingEmptyParts() {
        int s = 33;
        int h = 3;
        int d = 20;
        try (HostTensors host = new HostTensors(); DeviceTensors dev = new DeviceTensors()) {
            Random random = new Random(HostTensors.seed("TornadoAttentionTest merge"));
            Tensor out = host.random(DType.F32, random, s, h, d);
            Tensor part = host.random(DType.F32, random, s, h, d);
            Tensor lse = host.random(DType.F32, random, s, h);
            Tensor partLse = host.random(DType.F32, random, s, h);
            // Rows where one side or both saw no key.
            for (int r = 0; r < 6; r++) {
                lse.setFloat(r, Float.NEGATIVE_INFINITY);
                partLse.setFloat(r + 3, Float.NEGATIVE_INFINITY);
            }
            Tensor dOut = dev.put(out);
            Tensor dLse = dev.put(lse);
            CPU.attention().merge(out, lse, part, partLse);
            TORNADO.attention().merge(dOut, dLse, dev.put(part), dev.put(partLse));
            assertClose("out", dev.get(dOut), toDoubles(out), TOLERANCE);
            assertClose("lse", dev.get(dLse), toDoubles(lse), TOLERANCE);
        }
    }

    @Test
    void refusesWhatItCannotRun() {
        try (DeviceTensors dev = new DeviceTensors()) {
            Tensor wide = dev.zeros(DType.F32, 4, 1, 256);
            Tensor lse = dev.zeros(DType.F32, 4, 1);
            var e = assertThrows(IllegalArgumentException.class,
                    () -> TORNADO.attention().forward(wide, wide, wide, wide, lse, AttentionParams.of(256, true)));
            assertTrue(e.getMessage().contains("head dim 256"), e.getMessage());
            try (HostTensors host = new HostTensors()) {
                Tensor outside = host.zeros(DType.F32, 4, 1, 16);
                Tensor inside = dev.zeros(DType.F32, 4, 1, 16);
                var e2 = assertThrows(IllegalArgumentException.class,
                        () -> TORNADO.attention().forward(outside, inside, inside, inside, lse, AttentionParams.of(16, false)));
                assertTrue(e2.getMessage().contains("not in the memory of tornado device"), e2.getMessage());
            }
        }
    }
}
