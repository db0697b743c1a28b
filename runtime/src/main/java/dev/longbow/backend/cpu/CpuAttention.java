package dev.longbow.backend.cpu;

import dev.longbow.backend.AttentionOps;
import dev.longbow.backend.AttentionParams;
import dev.longbow.tensor.Tensor;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * {@link AttentionOps} on host tensors: checks the call, then runs the flash kernels on the shared
 * pool. The kernels pack into one {@link AttentionScratch} kept across calls (it grows to the
 * largest call's packings: about 7 x S x H x D floats of Java heap, forward and backward together); a call made
 * while another holds it packs into a scratch of its own.
 */
final class CpuAttention implements AttentionOps {
    private final AtomicReference<AttentionScratch> kept = new AtomicReference<>(new AttentionScratch());

    /** Runs {@code kernel} on the kept scratch, or on a scratch of its own where another call holds it. */
    private void withScratch(Consumer<AttentionScratch> kernel) {
        AttentionScratch held = kept.getAndSet(null);
        AttentionScratch scratch = held != null ? held : new AttentionScratch();
        try {
            kernel.accept(scratch);
        } finally {
            kept.set(scratch);
        }
    }

    @Override
    public void forward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, AttentionParams params) {
        AttentionDims dims = AttentionDims.of(q, k, v, params);
        dims.requireQueryShaped("out", out);
        dims.requireLse(lse);
        withScratch(scratch -> FlashForward.run(dims, q, k, v, out, lse, params, scratch));
    }

    @Override
    public void backward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor dout,
                         Tensor dq, Tensor dk, Tensor dv, AttentionParams params) {
        AttentionDims dims = AttentionDims.of(q, k, v, params);
        dims.requireQueryShaped("out", out);
        dims.requireQueryShaped("dout", dout);
        dims.requireLse(lse);
        dims.requireGradients(dq, dk, dv);
        withScratch(scratch -> FlashBackward.run(dims, q, k, v, out, lse, dout, dq, dk, dv, params, scratch));
    }

    @Override
    public void merge(Tensor out, Tensor lse, Tensor partOut, Tensor partLse) {
        CpuTensorOps.requireHost(out, lse, partOut, partLse);
        AttentionDims.requireF32("out", out);
        AttentionDims.requireF32("lse", lse);
        AttentionDims.requireF32("partLse", partLse);
        AttentionDims.requireFloat("partOut", partOut);
        if (out.shape().rank() != 3 || !out.shape().equals(partOut.shape()) || !lse.shape().equals(partLse.shape())
                || lse.shape().rank() != 2 || lse.dim(0) != out.dim(0) || lse.dim(1) != out.dim(1)) {
            throw new IllegalArgumentException("merge needs out, partOut [S, H, D] and lse, partLse [S, H], got out "
                    + out.shape() + ", partOut " + partOut.shape() + ", lse " + lse.shape() + ", partLse " + partLse.shape());
        }
        int d = Math.toIntExact(out.dim(2));
        long rows = lse.numel();
        int rowsPerItem = Math.max(1, (1 << 14) / Math.max(1, d));
        CpuThreads.parallelFor(Math.toIntExact((rows + rowsPerItem - 1) / rowsPerItem), w -> new float[2 * d], (float[] buf, int item) -> {
            for (long r = (long) item * rowsPerItem; r < Math.min(rows, (long) (item + 1) * rowsPerItem); r++) {
                mergeRow(out, lse, partOut, partLse, r, d, buf);
            }
        });
    }

    /** One row of the LSE-weighted merge; a part with lse -inf contributes nothing. */
    private static void mergeRow(Tensor out, Tensor lse, Tensor partOut, Tensor partLse, long r, int d, float[] buf) {
        float a = lse.getFloat(r);
        float b = partLse.getFloat(r);
        if (b == Float.NEGATIVE_INFINITY) {
            return;
        }
        FloatRows.load(partOut, r * d, buf, d, d);
        if (a == Float.NEGATIVE_INFINITY) {
            FloatRows.store(buf, d, out, r * d, d);
            lse.setFloat(r, b);
            return;
        }
        float m = Math.max(a, b);
        double wa = Math.exp(a - m);
        double wb = Math.exp(b - m);
        double sum = wa + wb;
        float fa = (float) (wa / sum);
        float fb = (float) (wb / sum);
        FloatRows.load(out, r * d, buf, 0, d);
        for (int e = 0; e < d; e++) {
            buf[e] = fa * buf[e] + fb * buf[d + e];
        }
        FloatRows.store(buf, 0, out, r * d, d);
        lse.setFloat(r, (float) (m + Math.log(sum)));
    }
}
