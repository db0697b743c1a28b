package dev.longbow.kernels;

import static dev.longbow.kernels.Checks.requireDType;
import static dev.longbow.kernels.Checks.requireDevice;
import static dev.longbow.kernels.Checks.requireFloat;
import static dev.longbow.kernels.Kernels.suffix;

import dev.longbow.backend.AttentionOps;
import dev.longbow.backend.AttentionParams;
import dev.longbow.cuda.DeviceProperties;
import dev.longbow.tensor.Allocation;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@link AttentionOps} on one rank's compute stream: the flash kernels (flash_fwd.cu,
 * flash_bwd.cu, launched as FLASH_ABI.md says) and the LSE merge (merge.cu). Head dims up to 128
 * that the kernels are not built for run zero-padded to the next one that they are
 * ({@link HeadPadding}).
 */
final class CudaAttention implements AttentionOps {
    private static final System.Logger LOG = System.getLogger(CudaAttention.class.getName());
    /** Head dims whose padding has been logged in this process: one line each, not one per call or rank. */
    private static final Set<Integer> PADDING_LOGGED = ConcurrentHashMap.newKeySet();
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
        int kernelDim = HeadPadding.kernelDim(headDim);
        if (kernelDim == 0) {
            return "head dim " + headDim + " is not one the flash kernels run: they are built for 64 and 128, and smaller head "
                    + "dims run zero-padded to the next of those (1..128)";
        }
        int needed = sharedBytes(kernelDim, backward);
        if (needed > device.maxSharedMemoryPerBlockOptin()) {
            List<Integer> fit = new ArrayList<>();
            for (int d : HeadPadding.KERNEL_DIMS) {
                if (sharedBytes(d, backward) <= device.maxSharedMemoryPerBlockOptin()) {
                    fit.add(d);
                }
            }
            return "attention " + (backward ? "backward" : "forward") + " with head dim " + headDim
                    + (kernelDim != headDim ? " (run as " + kernelDim + ")" : "") + " needs " + needed
                    + " bytes of shared memory per block; " + device.name() + " (GPU " + device.ordinal() + ", "
                    + device.smArch() + ") allows " + device.maxSharedMemoryPerBlockOptin() + "; head dims that "
                    + (backward ? "train" : "run") + " on it: " + (fit.isEmpty() ? "none" : fit)
                    + (fit.isEmpty() ? "" : " and the smaller ones, zero-padded to " + fit.getLast() + " or less");
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
        Launch geometry = Launch.flashForward(dims.sq, dims.hq, dims.kernelD);
        if (!dims.padded()) {
            gpu.launch(Kernels.FLASH_FORWARD, variant, geometry, q, k, v, out, lse, dims.sq, dims.sk, dims.hq, dims.hkv,
                    params.scale(), params.causal() ? 1 : 0, params.qStart(), params.kStart());
            return;
        }
        Slab wide = dims.scratch(gpu, Slab.builder()
                .add("q", dims.dtype, dims.sq, dims.hq, dims.kernelD)
                .add("k", dims.dtype, dims.sk, dims.hkv, dims.kernelD)
                .add("v", dims.dtype, dims.sk, dims.hkv, dims.kernelD)
                .add("out", out.dtype(), dims.sq, dims.hq, dims.kernelD));
        gpu.launch(Kernels.FLASH_FORWARD, variant, geometry, widen(gpu, q, wide, "q"), widen(gpu, k, wide, "k"),
                widen(gpu, v, wide, "v"), wide.get("out"), lse,
                dims.sq, dims.sk, dims.hq, dims.hkv, params.scale(), params.causal() ? 1 : 0, params.qStart(), params.kStart());
        HeadPadding.copyRows(gpu, wide.get("out"), out);
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
        // Scratch: delta [Sq, Hq] fp32; out rounded to the input dtype when the merged out is fp32
        // (the delta kernel reads both in one dtype); with a padded head dim, every tensor widened.
        boolean convertOut = out.dtype() != q.dtype();
        Slab.Builder declared = Slab.builder().add("delta", DType.F32, dims.sq, dims.hq);
        if (convertOut) {
            declared.add("outT", q.dtype(), out.shape().toArray());
        }
        if (dims.padded()) {
            for (String name : List.of("q", "out", "dout")) {
                declared.add(name, dims.dtype, dims.sq, dims.hq, dims.kernelD);
            }
            declared.add("k", dims.dtype, dims.sk, dims.hkv, dims.kernelD).add("v", dims.dtype, dims.sk, dims.hkv, dims.kernelD)
                    .add("dq", DType.F32, dims.sq, dims.hq, dims.kernelD)
                    .add("dk", DType.F32, dims.sk, dims.hkv, dims.kernelD).add("dv", DType.F32, dims.sk, dims.hkv, dims.kernelD);
        }
        Slab scratch = dims.scratch(gpu, declared);
        Tensor outT = out;
        if (convertOut) {
            outT = scratch.get("outT");
            gpu.launch(Kernels.CONVERT, suffix(out.dtype(), q.dtype()), Launch.stream(Launch.ceilDiv(out.numel(), 4), gpu.sms()),
                    out, outT, out.numel());
        }
        Operands given = new Operands(q, k, v, outT, dout, dq, dk, dv);
        Operands run = dims.padded() ? given.widened(gpu, scratch) : given;
        Tensor delta = scratch.get("delta");
        gpu.launch(Kernels.FLASH_DELTA, suffix(q.dtype()), Launch.flashDelta(dims.sq, dims.hq), run.out, run.dout, delta,
                dims.sq, dims.hq, dims.kernelD);
        gpu.launch(Kernels.FLASH_BACKWARD, dims.variant(), Launch.flashBackward(dims.sk, dims.hkv, dims.kernelD),
                run.q, run.k, run.v, run.dout, lse, delta, run.dq, run.dk, run.dv, dims.sq, dims.sk, dims.hq, dims.hkv,
                params.scale(), params.causal() ? 1 : 0, params.qStart(), params.kStart());
        if (dims.padded()) {
            HeadPadding.copyRows(gpu, run.dq, dq);
            HeadPadding.copyRows(gpu, run.dk, dk);
            HeadPadding.copyRows(gpu, run.dv, dv);
        }
    }

    /** The tensors one backward call reads and adds to. */
    private record Operands(Tensor q, Tensor k, Tensor v, Tensor out, Tensor dout, Tensor dq, Tensor dk, Tensor dv) {
        /**
         * Each copied, zero-padded, into its namesake in {@code wide}; the fp32 accumulators keep
         * what they hold, since the kernel adds to them.
         */
        Operands widened(Launcher gpu, Slab wide) {
            return new Operands(widen(gpu, q, wide, "q"), widen(gpu, k, wide, "k"), widen(gpu, v, wide, "v"),
                    widen(gpu, out, wide, "out"), widen(gpu, dout, wide, "dout"), widen(gpu, dq, wide, "dq"),
                    widen(gpu, dk, wide, "dk"), widen(gpu, dv, wide, "dv"));
        }
    }

    private static Tensor widen(Launcher gpu, Tensor t, Slab wide, String name) {
        Tensor w = wide.get(name);
        HeadPadding.copyRows(gpu, t, w);
        return w;
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

    /** Workspace memory seen as an allocation, so a {@link Slab} lays tensors out in it; closing it frees nothing. */
    private record WorkspaceBlock(MemorySegment segment) implements Allocation {
        @Override
        public Placement placement() {
            return Placement.DEVICE;
        }

        @Override
        public void close() {
        }
    }

    /**
     * The extents of one attention call, checked against what the flash kernels take; {@code kernelD}
     * is the head dim the kernels run at, larger than {@code d} when it is padded.
     */
    private record Dims(String op, DType dtype, int sq, int sk, int hq, int hkv, int d, int kernelD) {
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
            int kernelD = HeadPadding.kernelDim(d);
            if (kernelD == 0) {
                throw new IllegalArgumentException(op + ": head dim " + d + " is not one the flash kernels run (1..128; "
                        + "built for 64 and 128, smaller dims zero-padded)");
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
                    (int) q.dim(1), (int) k.dim(1), (int) d, kernelD);
        }

        /** The flash entry's variant: input dtype and the kernel's head dim, e.g. "bf16_d128". */
        String variant() {
            return suffix(dtype) + "_d" + kernelD;
        }

        boolean padded() {
            return kernelD != d;
        }

        /**
         * The call's scratch tensors, laid out in the workspace (valid until the next op asks for
         * scratch); the first padded call of a head dim in this process says what padding costs.
         */
        Slab scratch(Launcher gpu, Slab.Builder declared) {
            if (padded() && PADDING_LOGGED.add(d)) {
                LOG.log(System.Logger.Level.INFO, String.format(Locale.ROOT, "attention head dim %d runs zero-padded to %d in the "
                        + "flash kernels (built for 64 and 128): %.1fx the work of an unpadded kernel", d, kernelD, (double) kernelD / d));
            }
            return declared.allocate(bytes -> new WorkspaceBlock(gpu.scratch(bytes)));
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
