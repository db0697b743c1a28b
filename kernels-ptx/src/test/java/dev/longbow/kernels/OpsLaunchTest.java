package dev.longbow.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.backend.AdamWStep;
import dev.longbow.backend.AttentionParams;
import dev.longbow.cuda.DeviceProperties;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.HostAllocation;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What the CUDA op classes launch, without a GPU: every launch goes through the same signature
 * check as on a device, and the kernel choice, extents and grids follow from the shapes as the
 * CUDA sources expect them.
 */
class OpsLaunchTest {
    private static final List<DType> FLOATS = List.of(DType.F32, DType.BF16, DType.F16);
    private final RecordingLauncher gpu = new RecordingLauncher();
    private final CudaTensorOps tensors = new CudaTensorOps(gpu);
    private final CudaModelOps model = new CudaModelOps(gpu, null);
    private final CudaAttention attention = new CudaAttention(gpu, device("NVIDIA H100 80GB HBM3", 9, 0, 232448));

    /** What the driver reports of a GPU, as far as the attention checks read it. */
    private static DeviceProperties device(String name, int major, int minor, int sharedOptin) {
        return new DeviceProperties(0, name, "GPU-0", "0000:01:00", major, minor, 132, 80L << 30, 1024, 2048, 48 * 1024,
                sharedOptin, sharedOptin + 1024, 65536, 32, 50 << 20, 5120);
    }

    @Test
    void elementwiseOpsLaunchEveryDtypeCombination() {
        for (DType a : FLOATS) {
            for (DType b : FLOATS) {
                tensors.axpy(0.5f, gpu.device(a, 1000), gpu.device(b, 10, 100));
                if (a != b) {
                    tensors.convert(gpu.device(a, 7, 3), gpu.device(b, 21));
                }
            }
            tensors.fill(gpu.device(a, 5), 1);
            tensors.scale(gpu.device(a, 5), 2);
        }
        tensors.fill(gpu.device(DType.I32, 5), 3);
        assertEquals(9 + 6 + 3 + 3 + 1, gpu.calls.size());
        assertEquals("longbow_axpy_bf16_f16", gpu.calls.get(3 + 2 + 2 + 2 + 1).entry());
    }

    @Test
    void sumOfSquaresAddsThePartialsOfEveryBlockAndReadsTheSlotAfterThem() {
        tensors.sumOfSquares(gpu.device(DType.BF16, 1 << 24));
        var partial = gpu.calls.get(0);
        var total = gpu.calls.get(1);
        var read = gpu.calls.get(2);
        int blocks = partial.geometry().gridX();
        assertEquals("longbow_sum_of_squares_partial_bf16", partial.entry());
        assertEquals(Launch.WAVES * gpu.sms(), blocks, "a 16M-element tensor fills every SM");
        assertEquals("longbow_sum_partials_f64", total.entry());
        assertEquals(blocks, total.args().get(1));
        long partials = ((MemorySegment) partial.args().get(2)).address();
        assertEquals(partials + 8L * blocks, ((MemorySegment) read.args().getFirst()).address());
        assertEquals(((MemorySegment) total.args().get(2)).address(), ((MemorySegment) read.args().getFirst()).address());
    }

    @Test
    void swapLeadingDimsCopiesRowsInTheWidestWordThatFits() {
        tensors.swapLeadingDims(gpu.device(DType.BF16, 6, 4, 3, 64), gpu.device(DType.BF16, 4, 6, 3, 64));
        var call = gpu.only();
        assertEquals("longbow_swap_leading_dims_w16", call.entry());
        assertEquals(List.of(6L, 4L, 3L * 64 * 2 / 16), call.args().subList(2, 5));
        gpu.calls.clear();
        tensors.swapLeadingDims(gpu.deviceAt(DType.BF16, 2, 6, 4, 64), gpu.device(DType.BF16, 4, 6, 64));
        assertEquals("longbow_swap_leading_dims_w2", gpu.only().entry(), "a source 2 bytes off alignment moves 2-byte words");
        gpu.calls.clear();
        tensors.swapLeadingDims(gpu.device(DType.F32, 6, 4, 3), gpu.device(DType.F32, 4, 6, 3));
        assertEquals("longbow_swap_leading_dims_w4", gpu.only().entry(), "12-byte rows move 4-byte words");
        assertThrows(IllegalArgumentException.class, () -> tensors.swapLeadingDims(gpu.device(DType.F32, 6, 4, 3), gpu.device(DType.F32, 6, 4, 3)));
    }

    @Test
    void headRepeatsFollowTheGqaLayout() {
        tensors.repeatHeads(gpu.device(DType.BF16, 10, 2, 128), gpu.device(DType.BF16, 10, 8, 128));
        var repeat = gpu.only();
        assertEquals("longbow_repeat_heads_w16", repeat.entry());
        assertEquals(List.of(80L, 4L, 16L), repeat.args().subList(2, 5), "dst rows S*H*r, r, 16-byte words per row");
        gpu.calls.clear();
        tensors.sumRepeatedHeads(gpu.device(DType.F32, 10, 8, 64), gpu.device(DType.F32, 10, 2, 64));
        assertEquals(List.of(20L, 4L, 64L), gpu.only().args().subList(2, 5), "dst rows S*H, r, D");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> tensors.repeatHeads(gpu.device(DType.BF16, 10, 3, 64), gpu.device(DType.BF16, 10, 8, 64)));
        assertTrue(e.getMessage().contains("[S, H*r, D]"), e.getMessage());
    }

    @Test
    void matmulPicksTheLayoutVariantAndTilesTheOutput() {
        String[] expected = {"nn", "nt", "tn", "tt"};
        for (int i = 0; i < 4; i++) {
            boolean ta = (i & 2) != 0;
            boolean tb = (i & 1) != 0;
            Tensor a = ta ? gpu.device(DType.F32, 40, 300) : gpu.device(DType.F32, 300, 40);
            Tensor b = tb ? gpu.device(DType.F32, 200, 40) : gpu.device(DType.F32, 40, 200);
            model.matmul(a, ta, b, tb, gpu.device(DType.F32, 300, 200), 1, 0);
            var call = gpu.calls.getLast();
            assertEquals("longbow_gemm_f32_f32_" + expected[i], call.entry());
            assertEquals(List.of(300, 200, 40), call.args().subList(3, 6));
            assertEquals(2, call.geometry().gridX());
            assertEquals(3, call.geometry().gridY());
            // three stages of a 128-row tile of each operand, 64 bytes of K wide, padded (gemm.cu)
            int kContiguous = 128 * (16 + 4);
            int mnContiguous = 16 * (128 + 8);
            int elements = (ta ? mnContiguous : kContiguous) + (tb ? kContiguous : mnContiguous);
            assertEquals(3 * elements * 4, call.geometry().sharedBytes());
        }
        model.matmul(gpu.device(DType.BF16, 8, 16), false, gpu.device(DType.BF16, 16, 4), false, gpu.device(DType.BF16, 8, 4), 1, 0);
        assertEquals("longbow_gemm_bf16_bf16_nn", gpu.calls.getLast().entry());
        IllegalArgumentException shape = assertThrows(IllegalArgumentException.class, () -> model.matmul(
                gpu.device(DType.F32, 8, 16), false, gpu.device(DType.F32, 15, 4), false, gpu.device(DType.F32, 8, 4), 1, 0));
        assertTrue(shape.getMessage().contains("op(b) [15, 4]"), shape.getMessage());
        IllegalArgumentException dtype = assertThrows(IllegalArgumentException.class, () -> model.matmul(
                gpu.device(DType.F16, 8, 16), false, gpu.device(DType.F16, 16, 4), false, gpu.device(DType.F32, 8, 4), 1, 0));
        assertTrue(dtype.getMessage().contains("F16"), dtype.getMessage());
    }

    @Test
    void attentionForwardFollowsTheFlashAbi() {
        Tensor q = gpu.device(DType.BF16, 300, 8, 128);
        Tensor kv = gpu.device(DType.BF16, 500, 2, 128);
        attention.forward(q, kv, kv, gpu.device(DType.F32, 300, 8, 128), gpu.device(DType.F32, 300, 8),
                AttentionParams.of(128, true).at(1000, 700));
        var call = gpu.only();
        assertEquals("flash_fwd_bf16_d128_f32out", call.entry());
        assertEquals(new Launch(24, 1, 256, 1, 98304), call.geometry(), "FLASH_ABI.md: grid ceil(sq/128) * hq, 256 threads, 98304 bytes");
        assertEquals(List.of(300, 500, 8, 2), call.args().subList(5, 9));
        assertEquals(List.of(1, 1000L, 700L), call.args().subList(10, 13));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> attention.forward(
                gpu.device(DType.BF16, 4, 2, 160), gpu.device(DType.BF16, 4, 2, 160), gpu.device(DType.BF16, 4, 2, 160),
                gpu.device(DType.BF16, 4, 2, 160), gpu.device(DType.F32, 4, 2), AttentionParams.of(160, false)));
        assertTrue(e.getMessage().contains("head dim 160") && e.getMessage().contains("1..128"), e.getMessage());
    }

    /** D=16 runs on the D=64 kernel: q, k, v widened with zeros, the model's scale 1/4 kept, out cropped back. */
    @Test
    void aHeadDimTheKernelsLackRunsZeroPaddedToTheNextTheyHave() {
        Tensor q = gpu.device(DType.BF16, 300, 4, 16);
        Tensor kv = gpu.device(DType.BF16, 200, 2, 16);
        Tensor out = gpu.device(DType.F32, 300, 4, 16);
        attention.forward(q, kv, kv, out, gpu.device(DType.F32, 300, 4), AttentionParams.of(16, true));
        assertEquals(List.of("longbow_copy_rows_w16", "longbow_copy_rows_w16", "longbow_copy_rows_w16", "flash_fwd_bf16_d64_f32out",
                "longbow_copy_rows_w16"), gpu.calls.stream().map(RecordingLauncher.Call::entry).toList());
        assertEquals(List.of(q, 1200L, 2L, 8L), List.of(gpu.calls.get(0).args().getFirst(), gpu.calls.get(0).args().get(2),
                gpu.calls.get(0).args().get(3), gpu.calls.get(0).args().get(4)), "[300 x 4 rows] of 32 bytes into rows of 128");
        var flash = gpu.calls.get(3);
        assertEquals(List.of(gpu.calls.get(0).args().get(1), gpu.calls.get(1).args().get(1), gpu.calls.get(2).args().get(1)),
                flash.args().subList(0, 3), "the kernel reads the widened q, k, v");
        assertEquals(0.25f, flash.args().get(9), "the scale is the model's 1/sqrt(16), not the kernel's 1/sqrt(64)");
        assertEquals(Launch.flashForward(300, 4, 64), flash.geometry());
        var crop = gpu.calls.get(4);
        assertEquals(List.of(flash.args().get(3), out, 1200L, 16L, 4L), crop.args(), "fp32 rows of 256 bytes cropped to 64");
        assertEquals(null, attention.unsupportedReason(DType.BF16, 32, true));
        assertEquals(null, attention.unsupportedReason(DType.BF16, 100, true));
    }

    /** Backward at D=32: the fp32 accumulators are widened with what they hold (the kernel adds to them) and cropped back. */
    @Test
    void paddedBackwardWidensTheAccumulatorsAndCropsTheirGradients() {
        Tensor q = gpu.device(DType.BF16, 128, 4, 32);
        Tensor kv = gpu.device(DType.BF16, 128, 4, 32);
        Tensor dq = gpu.device(DType.F32, 128, 4, 32);
        Tensor dk = gpu.device(DType.F32, 128, 4, 32);
        Tensor dv = gpu.device(DType.F32, 128, 4, 32);
        attention.backward(q, kv, kv, gpu.device(DType.BF16, 128, 4, 32), gpu.device(DType.F32, 128, 4), q, dq, dk, dv,
                AttentionParams.of(32, true));
        List<String> entries = gpu.calls.stream().map(RecordingLauncher.Call::entry).toList();
        assertEquals(List.of("longbow_copy_rows_w16", "longbow_copy_rows_w16", "longbow_copy_rows_w16", "longbow_copy_rows_w16",
                "longbow_copy_rows_w16", "longbow_copy_rows_w16", "longbow_copy_rows_w16", "longbow_copy_rows_w16",
                "flash_bwd_delta_bf16", "flash_bwd_bf16_d64", "longbow_copy_rows_w16", "longbow_copy_rows_w16",
                "longbow_copy_rows_w16"), entries);
        for (int i = 5; i < 8; i++) {
            assertEquals(List.of(8L, 16L), gpu.calls.get(i).args().subList(3, 5), "fp32 accumulator rows of 8 words widened to 16");
        }
        var flash = gpu.calls.get(9);
        assertEquals(64, gpu.calls.get(8).args().get(5), "delta over the padded rows");
        for (int i = 0; i < 3; i++) {
            var crop = gpu.calls.get(10 + i);
            assertEquals(flash.args().get(6 + i), crop.args().get(0), "crop reads the kernel's accumulator");
            assertEquals(List.of(dq, dk, dv).get(i), crop.args().get(1));
            assertEquals(gpu.calls.get(5 + i).args().get(1), flash.args().get(6 + i), "the kernel adds to the widened accumulator");
        }
    }

    /** sm_86/sm_89 cards allow 101,376 bytes of shared memory per block; flash backward at D=128 needs 164,864. */
    @Test
    void headDimsAGpuCannotTrainAreRefusedByName() {
        CudaAttention a10 = new CudaAttention(gpu, device("NVIDIA A10", 8, 6, 101376));
        assertEquals(null, a10.unsupportedReason(DType.BF16, 64, true));
        assertEquals(null, a10.unsupportedReason(DType.BF16, 128, false));
        String reason = a10.unsupportedReason(DType.BF16, 128, true);
        assertTrue(reason.contains("164864") && reason.contains("101376") && reason.contains("NVIDIA A10")
                && reason.contains("head dims that train on it: [64]"), reason);
        Tensor q = gpu.device(DType.BF16, 128, 2, 128);
        Tensor grad = gpu.device(DType.F32, 128, 2, 128);
        var e = assertThrows(IllegalArgumentException.class, () -> a10.backward(q, q, q, q, gpu.device(DType.F32, 128, 2), q,
                grad, grad, grad, AttentionParams.of(128, true)));
        assertEquals(reason, e.getMessage());
        assertTrue(gpu.calls.isEmpty(), "nothing launched: " + gpu.calls);
        assertEquals(null, attention.unsupportedReason(DType.BF16, 128, true), "an H100 trains D=128");
    }

    @Test
    void attentionBackwardComputesDeltaFromOutRoundedToTheInputDtype() {
        Tensor q = gpu.device(DType.F16, 256, 4, 64);
        Tensor kv = gpu.device(DType.F16, 256, 4, 64);
        Tensor grad = gpu.device(DType.F32, 256, 4, 64);
        attention.backward(q, kv, kv, gpu.device(DType.F32, 256, 4, 64), gpu.device(DType.F32, 256, 4), q,
                grad, grad, grad, AttentionParams.of(64, false));
        assertEquals(List.of("longbow_convert_f32_f16", "flash_bwd_delta_f16", "flash_bwd_f16_d64"),
                gpu.calls.stream().map(RecordingLauncher.Call::entry).toList());
        Tensor rounded = (Tensor) gpu.calls.get(0).args().get(1);
        assertEquals(rounded, gpu.calls.get(1).args().get(0), "delta reads the rounded out");
        assertEquals(new Launch(8, 1, 256, 1, 99328), gpu.calls.get(2).geometry(), "FLASH_ABI.md: grid ceil(sk/128) * hkv, 99328 bytes for D=64");
    }

    @Test
    void modelOpsLaunchTheirKernels() {
        Tensor x = gpu.device(DType.BF16, 64, 4096);
        model.rmsNormForward(x, gpu.device(DType.F32, 4096), gpu.device(DType.BF16, 64, 4096), gpu.device(DType.F32, 64), 1e-5f);
        model.rmsNormBackward(x, gpu.device(DType.F32, 4096), gpu.device(DType.F32, 64), x, gpu.device(DType.BF16, 64, 4096),
                gpu.device(DType.F32, 4096));
        model.rope(gpu.device(DType.BF16, 64, 8, 128), gpu.device(DType.I32, 64), 10000, true);
        model.swigluForward(x, x, x);
        model.swigluBackward(x, x, x, x, x);
        model.embeddingForward(gpu.device(DType.F32, 1000, 4096), gpu.device(DType.I32, 64), x);
        model.embeddingBackward(gpu.device(DType.I32, 64), x, gpu.device(DType.F32, 1000, 4096));
        model.crossEntropy(gpu.device(DType.BF16, 64, 32000), gpu.device(DType.I32, 64), gpu.device(DType.F32, 64), 1f / 64);
        model.adamw(gpu.device(DType.F32, 100), gpu.device(DType.BF16, 100), gpu.device(DType.F32, 100), gpu.device(DType.F32, 100),
                new AdamWStep(1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 3));
        assertEquals(List.of("longbow_rmsnorm_forward_bf16", "longbow_rmsnorm_backward_bf16", "longbow_column_sum_f32",
                "longbow_rope_bf16", "longbow_swiglu_forward_bf16", "longbow_swiglu_backward_bf16", "longbow_embedding_forward_f32_bf16",
                "longbow_embedding_backward_bf16", "longbow_cross_entropy_bf16", "longbow_adamw_bf16"),
                gpu.calls.stream().map(RecordingLauncher.Call::entry).toList());
        var backward = gpu.calls.get(1);
        var columnSum = gpu.calls.get(2);
        assertEquals(backward.args().get(5), columnSum.args().get(0), "the column sum reads the partials backward wrote");
        assertEquals((long) backward.geometry().gridX(), columnSum.args().get(1));
        var adamw = gpu.calls.getLast();
        assertEquals(1 - Math.pow(0.9, 3), (float) adamw.args().get(10), 1e-7);
        assertEquals(1 - Math.pow(0.95, 3), (float) adamw.args().get(11), 1e-7);
    }

    @Test
    void badArgumentsAreRefusedByName() {
        IllegalArgumentException odd = assertThrows(IllegalArgumentException.class,
                () -> model.rope(gpu.device(DType.BF16, 4, 2, 7), gpu.device(DType.I32, 4), 10000, false));
        assertTrue(odd.getMessage().contains("head dim 7"), odd.getMessage());
        try (HostAllocation host = new HostAllocation(64)) {
            Tensor onHost = HostAllocation.tensor(host, DType.F32, 16);
            IllegalArgumentException placement = assertThrows(IllegalArgumentException.class, () -> tensors.scale(onHost, 2));
            assertTrue(placement.getMessage().contains("DEVICE"), placement.getMessage());
        }
        IllegalArgumentException rows = assertThrows(IllegalArgumentException.class, () -> model.crossEntropy(
                gpu.device(DType.F32, 4, 10), gpu.device(DType.I32, 5), gpu.device(DType.F32, 4), 1));
        assertTrue(rows.getMessage().contains("targets"), rows.getMessage());
        IllegalArgumentException args = assertThrows(IllegalArgumentException.class,
                () -> LaunchArgs.check(Kernels.SCALE, "f32", gpu.device(DType.F32, 4), 4, 2f));
        assertTrue(args.getMessage().contains("argument 1 must be I64"), args.getMessage());
    }
}
