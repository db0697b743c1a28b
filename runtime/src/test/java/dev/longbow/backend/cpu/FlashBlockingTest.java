package dev.longbow.backend.cpu;

import static dev.longbow.testing.HostTensors.assertClose;
import static dev.longbow.testing.HostTensors.toDoubles;

import dev.longbow.backend.AttentionParams;
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

/**
 * The flash kernels with each register blocking of the micro-kernel selected explicitly, against
 * the float64 {@link ReferenceAttention}: {@code CpuAttentionTest} covers only the one this
 * machine prefers, and the four-row (AVX2) blocking must stay right on AVX-512 machines too.
 */
class FlashBlockingTest {

    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> cases = Stream.builder();
        for (MicroGemm.Blocking blocking : MicroGemm.Blocking.values()) {
            // Head dims 64 and 128 (the benchmarked ones), 16 (the model presets') and 40 (padded);
            // 200 queries and keys leave partial work items, key blocks and register blocks.
            for (int d : new int[] {64, 128, 16, 40}) {
                cases.add(Arguments.of(blocking, d, true));
            }
            cases.add(Arguments.of(blocking, 64, false));
        }
        return cases.build();
    }

    @ParameterizedTest(name = "{0} d={1} causal={2}")
    @MethodSource("cases")
    void forwardAndBackwardMatchTheReference(MicroGemm.Blocking blocking, int d, boolean causal) {
        matchTheReference(new Dims(200, 200, 4, 2, d), AttentionParams.of(d, causal), blocking, new AttentionScratch(), 1,
                "FlashBlockingTest " + blocking + " " + d + " " + causal);
    }

    /**
     * A scratch kept from earlier calls holds their packings, longer than this call's and full of
     * other values; here every array is NaN beforehand, so a padding element (queries past 64-row
     * tiles, keys past 96- and 192-key blocks, head dims 40 to 48) that the kernels read without
     * writing it first would reach the result. Against float64, twice on the same scratch.
     */
    @ParameterizedTest(name = "causal={0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void aKeptScratchFullOfStaleValuesChangesNothing(boolean causal) {
        AttentionScratch scratch = new AttentionScratch();
        for (AttentionScratch.Packing packing : AttentionScratch.Packing.values()) {
            for (float[] array : scratch.arrays(packing, 16, 1 << 16)) {
                java.util.Arrays.fill(array, Float.NaN);
            }
        }
        matchTheReference(new Dims(200, 200, 4, 2, 40), AttentionParams.of(40, causal), MicroGemm.Blocking.PREFERRED, scratch, 2,
                "FlashBlockingTest stale scratch " + causal);
    }

    /** {@code calls} forwards and backwards on one scratch, each against float64. */
    private static void matchTheReference(Dims dims, AttentionParams params, MicroGemm.Blocking blocking, AttentionScratch scratch,
                                          int calls, String seedName) {
        try (HostTensors mem = new HostTensors()) {
            Random random = new Random(HostTensors.seed(seedName));
            Tensor q = mem.random(DType.F32, random, dims.sq(), dims.hq(), dims.d());
            Tensor k = mem.random(DType.F32, random, dims.sk(), dims.hkv(), dims.d());
            Tensor v = mem.random(DType.F32, random, dims.sk(), dims.hkv(), dims.d());
            Tensor dout = mem.random(DType.F32, random, dims.sq(), dims.hq(), dims.d());
            double[] qd = toDoubles(q);
            double[] kd = toDoubles(k);
            double[] vd = toDoubles(v);
            ReferenceAttention.Output expected = ReferenceAttention.forward(dims, params, qd, kd, vd);
            ReferenceAttention.Gradients gradients = ReferenceAttention.backward(dims, params, qd, kd, vd, toDoubles(dout));
            AttentionDims checked = AttentionDims.of(q, k, v, params);
            for (int call = 0; call < calls; call++) {
                Tensor out = mem.zeros(DType.F32, dims.sq(), dims.hq(), dims.d());
                Tensor lse = mem.zeros(DType.F32, dims.sq(), dims.hq());
                FlashForward.run(checked, q, k, v, out, lse, params, scratch, blocking);
                assertClose("out", toDoubles(out), expected.out(), 2e-6);
                assertClose("lse", toDoubles(lse), expected.lse(), 2e-6);
                Tensor dq = mem.zeros(DType.F32, dims.sq(), dims.hq(), dims.d());
                Tensor dk = mem.zeros(DType.F32, dims.sk(), dims.hkv(), dims.d());
                Tensor dv = mem.zeros(DType.F32, dims.sk(), dims.hkv(), dims.d());
                FlashBackward.run(checked, q, k, v, out, lse, dout, dq, dk, dv, params, scratch, blocking);
                assertClose("dq", toDoubles(dq), gradients.dq(), 1e-5);
                assertClose("dk", toDoubles(dk), gradients.dk(), 1e-5);
                assertClose("dv", toDoubles(dv), gradients.dv(), 1e-5);
            }
        }
    }

    /**
     * Keys that grow along the sequence (key j scaled by 1 + j / 16), so a query's scores climb
     * by far more than the forward's lazy bound on the running max from one key tile to the
     * next: m moves on every tile and the output is rescaled, where random keys leave m in place
     * past the first tile. Against float64, causal and not.
     */
    @ParameterizedTest(name = "causal={0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void forwardFollowsARunningMaxThatJumps(boolean causal) {
        Dims dims = new Dims(300, 300, 2, 1, 64);
        AttentionParams params = AttentionParams.of(64, causal);
        try (HostTensors mem = new HostTensors()) {
            Random random = new Random(HostTensors.seed("FlashBlockingTest growing keys " + causal));
            Tensor q = mem.random(DType.F32, random, dims.sq(), dims.hq(), dims.d());
            Tensor k = mem.random(DType.F32, random, dims.sk(), dims.hkv(), dims.d());
            Tensor v = mem.random(DType.F32, random, dims.sk(), dims.hkv(), dims.d());
            for (long i = 0; i < k.numel(); i++) {
                k.setFloat(i, k.getFloat(i) * (1 + (i / dims.d()) / 16f));
            }
            ReferenceAttention.Output expected = ReferenceAttention.forward(dims, params, toDoubles(q), toDoubles(k), toDoubles(v));
            Tensor out = mem.zeros(DType.F32, dims.sq(), dims.hq(), dims.d());
            Tensor lse = mem.zeros(DType.F32, dims.sq(), dims.hq());
            FlashForward.run(AttentionDims.of(q, k, v, params), q, k, v, out, lse, params, new AttentionScratch());
            assertClose("out", toDoubles(out), expected.out(), 2e-6);
            assertClose("lse", toDoubles(lse), expected.lse(), 2e-6);
        }
    }
}
