package dev.longbow.kernels;

import static dev.longbow.kernels.Checks.requireDType;
import static dev.longbow.kernels.Checks.requireDevice;
import static dev.longbow.kernels.Checks.requireFloat;
import static dev.longbow.kernels.Kernels.suffix;

import dev.longbow.backend.AttentionOps;
import dev.longbow.backend.AttentionParams;
import dev.longbow.cuda.DeviceProperties;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * {@link AttentionOps} on one rank's compute stream: the flash kernels (flash_fwd.cu,
 * flash_bwd.cu, launched as FLASH_ABI.md says) and the LSE merge (merge.cu).
 */
final class CudaAttention implements AttentionOps {
    private static final int[] HEAD_DIMS = {64, 128};
    private final Launcher gpu;
    private final DeviceProperties device;

    CudaAttention(Launcher gpu, DeviceProperties device) {
        this.gpu = gpu;
        this.device = device;
    }

    /**
     * Flash backward at D=128 needs 164,864 bytes of shared memory per block: Hopper and A100
     * allow it, sm_86/sm_89 cards (A10, L4, L40S, RTX 30/40) allow 101,376. Refused by name here,
     * before any work, rather than by the driver at the first backward.
     */
    @Override
    public String unsupportedReason(DType dtype, long headDim, boolean backward) {
        if (dtype != DType.BF16 && dtype != DType.F16) {
            return "the flash kernels take BF16 or F16 attention, not " + dtype;
        }
        if (headDim != 64 && headDim != 128) {
            return "head dim " + headDim + " is not one the flash kernels are built for (64, 128)";
        }
        int needed = sharedBytes((int) headDim, backward);
        if (needed > device.maxSharedMemoryPerBlockOptin()) {
            List<Integer> fit = new ArrayList<>();
            for (int d : HEAD_DIMS) {
                if (sharedBytes(d, backward) <= device.maxSharedMemoryPerBlockOptin()) {
                    fit.add(d);
                }
            }
            return "attention " + (backward ? "backward" : "forward") + " with head dim " + headDim + " needs " + needed
                    + " bytes of shared memory per block; " + device.name() + " (GPU " + device.ordinal() + ", "
                    + device.smArch() + ") allows " + device.maxSharedMemoryPerBlockOptin() + "; head dims that "
                    + (backward ? "train" : "run") + " on it: " + (fit.isEmpty() ? "none" : fit);
        }
        return null;
    }

    private static int sharedBytes(int headDim, boolean backward) {
        return backward ? Launch.flashBackward(1, 1, headDim).sharedBytes() : Launch.flashForward(1, 1, headDim).sharedBytes();
    }

    private void requireSupported(Dims dims, boolean backward) {
        String reason = unsupportedReason(dims.dtype, dims.d, backward);
        if (reason != null) {
            throw new IllegalArgumentException(reason);
        }
    }

    @Override
    public void forward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, AttentionParams params) {
        Dims dims = Dims.of("attention forward", q, k, v, params);
        requireSupported(dims, false);
        requireDevice("attention forward", out, lse);
        dims.requireQueryShaped("out", out, q.dtype(), DType.F32);
        dims.requireLse(lse);
        if (dims.sq == 0) {
            return;
        }
        String variant = dims.variant() + (out.dtype() == DType.F32 ? "_f32out" : "");
        gpu.launch(Kernels.FLASH_FORWARD, variant, Launch.flashForward(dims.sq, dims.hq, dims.d),
                q, k, v, out, lse, dims.sq, dims.sk, dims.hq, dims.hkv, params.scale(), params.causal() ? 1 : 0,
                params.qStart(), params.kStart());
    }

    @Override
    public void backward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dout,
                         Tensor dq, Tensor dk, Tensor dv, AttentionParams params) {
        String op = "attention backward";
        Dims dims = Dims.of(op, q, k, v, params);
        requireSupported(dims, true);
        requireDevice(op, out, lse, dout, dq, dk, dv);
        dims.requireQueryShaped("out", out, q.dtype(), DType.F32);
        dims.requireQueryShaped("dout", dout, q.dtype());
        dims.requireQueryShaped("dq", dq, DType.F32);
        dims.requireKeyShaped("dk", dk, DType.F32);
        dims.requireKeyShaped("dv", dv, DType.F32);
        dims.requireLse(lse);
        if (dims.sq == 0 || dims.sk == 0) {
            return;
        }
        // Scratch: delta [Sq, Hq] fp32, then (when the merged out is fp32) out rounded to the input dtype.
        long deltaBytes = align(4L * dims.sq * dims.hq);
        boolean convertOut = out.dtype() != q.dtype();
        MemorySegment scratch = gpu.scratch(deltaBytes + (convertOut ? out.numel() * q.dtype().byteSize() : 0));
        MemorySegment delta = scratch.asSlice(0, 4L * dims.sq * dims.hq);
        Tensor outT = out;
        if (convertOut) {
            outT = new Tensor(scratch.asSlice(deltaBytes, out.numel() * q.dtype().byteSize()), q.dtype(), out.shape(), out.placement());
            gpu.launch(Kernels.CONVERT, suffix(out.dtype(), q.dtype()), Launch.stream(Launch.ceilDiv(out.numel(), 4), gpu.sms()),
                    out, outT, out.numel());
        }
        gpu.launch(Kernels.FLASH_DELTA, suffix(q.dtype()), Launch.flashDelta(dims.sq, dims.hq), outT, dout, delta, dims.sq, dims.hq, dims.d);
        gpu.launch(Kernels.FLASH_BACKWARD, dims.variant(), Launch.flashBackward(dims.sk, dims.hkv, dims.d),
                q, k, v, dout, lse, delta, dq, dk, dv, dims.sq, dims.sk, dims.hq, dims.hkv, params.scale(),
                params.causal() ? 1 : 0, params.qStart(), params.kStart());
    }

    @Override
    public void merge(Tensor out, Tensor lse, Tensor partOut, Tensor partLse) {
        requireDevice("merge", out, lse, partOut, partLse);
        requireDType("merge", "out", out, DType.F32);
        requireDType("merge", "lse", lse, DType.F32);
        requireDType("merge", "partLse", partLse, DType.F32);
        requireFloat("merge", "partOut", partOut);
        if (out.shape().rank() != 3 || !out.shape().equals(partOut.shape()) || !lse.shape().equals(partLse.shape())
                || lse.shape().rank() != 2 || lse.dim(0) != out.dim(0) || lse.dim(1) != out.dim(1)) {
            throw new IllegalArgumentException("merge needs out, partOut [S, H, D] and lse, partLse [S, H], got out "
                    + out.shape() + ", partOut " + partOut.shape() + ", lse " + lse.shape() + ", partLse " + partLse.shape());
        }
        if (lse.numel() == 0) {
            return;
        }
        gpu.launch(Kernels.ATTENTION_MERGE, suffix(partOut.dtype()), Launch.warpPerRow(lse.numel(), gpu.sms()),
                out, lse, partOut, partLse, lse.numel(), Checks.int32("merge", "head dim", out.dim(2)));
    }

    private static long align(long bytes) {
        return Launch.ceilDiv(bytes, 256) * 256;
    }

    /** The extents of one attention call, checked against what the flash kernels take. */
    private record Dims(String op, DType dtype, int sq, int sk, int hq, int hkv, int d) {
        static Dims of(String op, Tensor q, Tensor k, Tensor v, AttentionParams params) {
            requireDevice(op, q, k, v);
            if (q.shape().rank() != 3 || k.shape().rank() != 3 || !k.shape().equals(v.shape())
                    || q.dim(2) != k.dim(2)) {
                throw new IllegalArgumentException(op + " needs q [Sq, Hq, D], k and v [Sk, Hkv, D], got q " + q.shape()
                        + ", k " + k.shape() + ", v " + v.shape());
            }
            if (q.dtype() != k.dtype() || q.dtype() != v.dtype() || !(q.dtype() == DType.BF16 || q.dtype() == DType.F16)) {
                throw new IllegalArgumentException(op + ": the flash kernels take q, k, v all BF16 or all F16, got "
                        + q.dtype() + ", " + k.dtype() + ", " + v.dtype());
            }
            long d = q.dim(2);
            if (d != 64 && d != 128) {
                throw new IllegalArgumentException(op + ": head dim " + d + " is not one the flash kernels are built for (64, 128)");
            }
            if (q.dim(1) == 0 || k.dim(1) == 0 || q.dim(1) % k.dim(1) != 0) {
                throw new IllegalArgumentException(op + ": heads " + q.dim(1) + " not divisible by kv heads " + k.dim(1)
                        + " (GQA needs Hq % Hkv == 0)");
            }
            if (!(params.scale() > 0)) {
                throw new IllegalArgumentException(op + ": scale " + params.scale() + " must be positive");
            }
            for (Tensor t : new Tensor[] {q, k, v}) {
                requireAligned(op, t);
            }
            return new Dims(op, q.dtype(), Checks.int32(op, "query rows", q.dim(0)), Checks.int32(op, "key rows", k.dim(0)),
                    (int) q.dim(1), (int) k.dim(1), (int) d);
        }

        /** The flash entry's variant: input dtype and head dim, e.g. "bf16_d128". */
        String variant() {
            return suffix(dtype) + "_d" + d;
        }

        void requireQueryShaped(String name, Tensor t, DType... dtypes) {
            requireDType(op, name, t, dtypes);
            Checks.requireShape(op, name, t, sq, hq, d);
            requireAligned(op, t);
        }

        void requireKeyShaped(String name, Tensor t, DType dtype) {
            requireDType(op, name, t, dtype);
            Checks.requireShape(op, name, t, sk, hkv, d);
            requireAligned(op, t);
        }

        void requireLse(Tensor lse) {
            requireDType(op, "lse", lse, DType.F32);
            Checks.requireShape(op, "lse", lse, sq, hq);
        }

        private static void requireAligned(String op, Tensor t) {
            if (t.data().address() % 16 != 0) {
                throw new IllegalArgumentException(op + ": the flash kernels need 16-byte aligned tensors, " + t
                        + " starts at address 0x" + Long.toHexString(t.data().address()));
            }
        }
    }
}
