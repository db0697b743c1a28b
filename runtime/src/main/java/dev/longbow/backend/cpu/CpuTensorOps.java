package dev.longbow.backend.cpu;

import dev.longbow.backend.TensorOps;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link TensorOps} on host memory. Elementwise work runs in chunks on the shared pool; each
 * chunk is widened to fp32, computed, and rounded back into the tensor's dtype.
 */
final class CpuTensorOps implements TensorOps {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int CHUNK = 1 << 14;

    @Override
    public void copy(Tensor src, Tensor dst) {
        requireHost(src, dst);
        if (src.dtype() != dst.dtype() || src.numel() != dst.numel()) {
            throw new IllegalArgumentException("copy needs the same dtype and element count: " + src + " -> " + dst);
        }
        MemorySegment.copy(src.data(), 0, dst.data(), 0, src.byteSize());
    }

    @Override
    public void convert(Tensor src, Tensor dst) {
        requireHost(src, dst);
        requireSameCount("convert", src, dst);
        if (src.dtype() == dst.dtype()) {
            copy(src, dst);
            return;
        }
        chunked(src.numel(), (buf, at, n) -> {
            FloatRows.load(src, at, buf[0], 0, n);
            FloatRows.store(buf[0], 0, dst, at, n);
        });
    }

    @Override
    public void fill(Tensor t, float value) {
        requireHost(t);
        chunked(t.numel(), (buf, at, n) -> {
            java.util.Arrays.fill(buf[0], 0, n, value);
            FloatRows.store(buf[0], 0, t, at, n);
        });
    }

    @Override
    public void axpy(float alpha, Tensor x, Tensor y) {
        requireHost(x, y);
        requireSameCount("axpy", x, y);
        chunked(x.numel(), (buf, at, n) -> {
            float[] xs = buf[0];
            float[] ys = buf[1];
            FloatRows.load(x, at, xs, 0, n);
            FloatRows.load(y, at, ys, 0, n);
            int i = 0;
            for (int bound = F.loopBound(n); i < bound; i += F.length()) {
                FloatVector.fromArray(F, xs, i).mul(alpha).add(FloatVector.fromArray(F, ys, i)).intoArray(ys, i);
            }
            for (; i < n; i++) {
                ys[i] += alpha * xs[i];
            }
            FloatRows.store(ys, 0, y, at, n);
        });
    }

    @Override
    public void scale(Tensor t, float alpha) {
        requireHost(t);
        chunked(t.numel(), (buf, at, n) -> {
            float[] xs = buf[0];
            FloatRows.load(t, at, xs, 0, n);
            int i = 0;
            for (int bound = F.loopBound(n); i < bound; i += F.length()) {
                FloatVector.fromArray(F, xs, i).mul(alpha).intoArray(xs, i);
            }
            for (; i < n; i++) {
                xs[i] *= alpha;
            }
            FloatRows.store(xs, 0, t, at, n);
        });
    }

    @Override
    public double sumOfSquares(Tensor t) {
        requireHost(t);
        int chunks = chunkCount(t.numel());
        double[] partial = new double[chunks];
        CpuThreads.parallelFor(chunks, w -> new float[CHUNK], (float[] xs, int c) -> {
            long at = (long) c * CHUNK;
            int n = (int) Math.min(CHUNK, t.numel() - at);
            FloatRows.load(t, at, xs, 0, n);
            // fp32 lanes over at most CHUNK / lanes elements each, then double across chunks.
            FloatVector acc = FloatVector.zero(F);
            int i = 0;
            for (int bound = F.loopBound(n); i < bound; i += F.length()) {
                FloatVector v = FloatVector.fromArray(F, xs, i);
                acc = v.fma(v, acc);
            }
            double sum = CpuModelOps.sumLanes(acc);
            for (; i < n; i++) {
                sum += (double) xs[i] * xs[i];
            }
            partial[c] = sum;
        });
        double total = 0;
        for (double p : partial) {
            total += p;
        }
        return total;
    }

    @Override
    public void swapLeadingDims(Tensor src, Tensor dst) {
        requireHost(src, dst);
        if (src.shape().rank() < 2 || src.dtype() != dst.dtype()) {
            throw new IllegalArgumentException("swapLeadingDims needs rank >= 2 and one dtype: " + src + " -> " + dst);
        }
        long a = src.dim(0);
        long b = src.dim(1);
        if (!dst.shape().equals(src.shape().with(0, b).with(1, a))) {
            throw new IllegalArgumentException("swapLeadingDims " + src.shape() + " needs dst shape "
                    + src.shape().with(0, b).with(1, a) + ", got " + dst.shape());
        }
        long run = src.shape().stride(1) * src.dtype().byteSize();
        CpuThreads.parallelFor(Math.toIntExact(b), j -> {
            for (long i = 0; i < a; i++) {
                MemorySegment.copy(src.data(), (i * b + j) * run, dst.data(), (j * a + i) * run, run);
            }
        });
    }

    @Override
    public void repeatHeads(Tensor src, Tensor dst) {
        requireHost(src, dst);
        int r = headRepeats("repeatHeads", src, dst);
        if (src.dtype() != dst.dtype()) {
            throw new IllegalArgumentException("repeatHeads needs one dtype: " + src + " -> " + dst);
        }
        long heads = src.dim(1);
        long run = src.dim(2) * src.dtype().byteSize();
        for (long s = 0; s < src.dim(0); s++) {
            for (long h = 0; h < heads; h++) {
                long from = (s * heads + h) * run;
                for (int i = 0; i < r; i++) {
                    MemorySegment.copy(src.data(), from, dst.data(), ((s * heads + h) * r + i) * run, run);
                }
            }
        }
    }

    @Override
    public void sumRepeatedHeads(Tensor src, Tensor dst) {
        requireHost(src, dst);
        int r = headRepeats("sumRepeatedHeads", dst, src);
        int d = Math.toIntExact(dst.dim(2));
        long heads = dst.dim(1);
        CpuThreads.parallelFor(Math.toIntExact(dst.dim(0)), w -> new float[2 * d], (float[] buf, int s) -> {
            for (long h = 0; h < heads; h++) {
                long first = (s * heads + h) * r * d;
                FloatRows.load(src, first, buf, 0, d);
                for (int i = 1; i < r; i++) {
                    FloatRows.load(src, first + (long) i * d, buf, d, d);
                    for (int e = 0; e < d; e++) {
                        buf[e] += buf[d + e];
                    }
                }
                FloatRows.store(buf, 0, dst, (s * heads + h) * d, d);
            }
        });
    }

    /** The repeat factor r between {@code few [S, H, D]} and {@code many [S, H*r, D]}. */
    private static int headRepeats(String op, Tensor few, Tensor many) {
        if (few.shape().rank() != 3 || many.shape().rank() != 3 || few.dim(0) != many.dim(0)
                || few.dim(2) != many.dim(2) || few.dim(1) == 0 || many.dim(1) % few.dim(1) != 0) {
            throw new IllegalArgumentException(op + " needs [S, H, D] and [S, H*r, D], got " + few.shape() + " and " + many.shape());
        }
        return Math.toIntExact(many.dim(1) / few.dim(1));
    }

    private interface ChunkBody {
        void run(float[][] buffers, long at, int n);
    }

    private static void chunked(long numel, ChunkBody body) {
        CpuThreads.parallelFor(chunkCount(numel), w -> new float[2][CHUNK], (float[][] buf, int c) -> {
            long at = (long) c * CHUNK;
            body.run(buf, at, (int) Math.min(CHUNK, numel - at));
        });
    }

    private static int chunkCount(long numel) {
        return Math.toIntExact((numel + CHUNK - 1) / CHUNK);
    }

    private static void requireSameCount(String op, Tensor a, Tensor b) {
        if (a.numel() != b.numel()) {
            throw new IllegalArgumentException(op + " needs equal element counts: " + a + " vs " + b);
        }
    }

    static void requireHost(Tensor... tensors) {
        for (Tensor t : tensors) {
            if (t.placement() != Placement.HOST) {
                throw new IllegalArgumentException("the cpu backend computes on host tensors only, got " + t
                        + "; copy it to the host first");
            }
        }
    }
}
