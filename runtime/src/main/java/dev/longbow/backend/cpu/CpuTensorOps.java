package dev.longbow.backend.cpu;

import static dev.longbow.backend.TensorChecks.headRepeats;
import static dev.longbow.backend.TensorChecks.requireSameCount;
import static dev.longbow.backend.TensorChecks.requireSameDType;
import static dev.longbow.backend.TensorChecks.requireSameDTypeAndCount;
import static dev.longbow.backend.TensorChecks.requireSwappedLeadingDims;

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
        requireSameDTypeAndCount("copy", src, dst);
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
            // One rounding (fma), so a result that cancels stays exact to fp32 before its store.
            FloatVector a = FloatVector.broadcast(F, alpha);
            for (int bound = F.loopBound(n); i < bound; i += F.length()) {
                FloatVector.fromArray(F, xs, i).fma(a, FloatVector.fromArray(F, ys, i)).intoArray(ys, i);
            }
            for (; i < n; i++) {
                ys[i] = Math.fma(alpha, xs[i], ys[i]);
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
        requireSwappedLeadingDims(src, dst);
        long a = src.dim(0);
        long b = src.dim(1);
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
        requireSameDType("repeatHeads", src, dst);
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

    static void requireHost(Tensor... tensors) {
        for (Tensor t : tensors) {
            if (t.placement() != Placement.HOST) {
                throw new IllegalArgumentException("the cpu backend computes on host tensors only, got " + t
                        + "; copy it to the host first");
            }
        }
    }
}
