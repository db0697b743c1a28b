package dev.longbow.backend.cpu;

import dev.longbow.backend.AdamWStep;
import dev.longbow.backend.ModelOps;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * {@link ModelOps} on the CPU in fp32. Rows are spread over the shared {@link CpuThreads} pool in chunks whose
 * size depends only on the problem, and every reduction sums in a fixed order, so a run is
 * reproducible bit for bit on any number of cores.
 */
public final class CpuModelOps implements ModelOps {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    /** Rows per task for row-wise operations, and per partial sum in reductions over rows. */
    private static final int ROW_CHUNK = 64;
    private static final float LOG2_E = (float) (1 / Math.log(2));

    private final CpuModelOpsGemm gemm = new CpuModelOpsGemm();

    @Override
    public void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, float alpha, float beta) {
        gemm.matmul(a, transA, b, transB, c, alpha, beta);
    }

    @Override
    public void headBackward(Tensor dlogits, Tensor head, Tensor x, Tensor dx, Tensor dhead) {
        FusedHeadBackward.run(gemm, dlogits, head, x, dx, dhead);
    }

    @Override
    public void rmsNormForward(Tensor x, Tensor weight, Tensor y, Tensor rstd, float eps) {
        int d = lastDim(x);
        long rows = x.numel() / d;
        requireF32(x, weight, y, rstd);
        forRows(rows, r -> {
            long at = r * d;
            double ss = 0;
            for (int i = 0; i < d; i++) {
                float v = get(x, at + i);
                ss += v * v;
            }
            float inv = (float) (1.0 / Math.sqrt(ss / d + eps));
            rstd.data().setAtIndex(FLOAT, r, inv);
            for (int i = 0; i < d; i++) {
                set(y, at + i, get(x, at + i) * inv * get(weight, i));
            }
        });
    }

    @Override
    public void rmsNormBackward(Tensor x, Tensor weight, Tensor rstd, Tensor dy, Tensor dx, Tensor dweight) {
        int d = lastDim(x);
        long rows = x.numel() / d;
        requireF32(x, weight, rstd, dy, dx, dweight);
        int chunks = (int) ((rows + ROW_CHUNK - 1) / ROW_CHUNK);
        float[][] partial = new float[chunks][d];
        CpuThreads.parallelFor(chunks, chunk -> {
            float[] dw = partial[chunk];
            for (long r = (long) chunk * ROW_CHUNK; r < Math.min(rows, (long) (chunk + 1) * ROW_CHUNK); r++) {
                long at = r * d;
                float inv = rstd.data().getAtIndex(FLOAT, r);
                double dot = 0; // sum_j dy_j w_j x_j
                for (int i = 0; i < d; i++) {
                    float xi = get(x, at + i), gi = get(dy, at + i);
                    dot += gi * get(weight, i) * xi;
                    dw[i] += gi * xi * inv;
                }
                float coef = (float) (dot * inv * inv * inv / d);
                for (int i = 0; i < d; i++) {
                    set(dx, at + i, get(dy, at + i) * get(weight, i) * inv - get(x, at + i) * coef);
                }
            }
        });
        for (int i = 0; i < d; i++) {
            float sum = 0;
            for (float[] dw : partial) {
                sum += dw[i];
            }
            set(dweight, i, get(dweight, i) + sum);
        }
    }

    @Override
    public void rope(Tensor x, Tensor positions, float theta, boolean inverse) {
        requireF32(x);
        positions.requireDType(DType.I32);
        if (x.shape().rank() != 3 || x.dim(0) != positions.numel() || x.dim(2) % 2 != 0) {
            throw new IllegalArgumentException("rope needs x [S, H, D] with even D and positions [S], got " + x + " and " + positions);
        }
        int heads = (int) x.dim(1), dim = (int) x.dim(2), half = dim / 2;
        double[] freq = new double[half];
        for (int i = 0; i < half; i++) {
            freq[i] = Math.pow(theta, -2.0 * i / dim);
        }
        forRows(x.dim(0), s -> {
            int pos = positions.getInt(s);
            float[] cos = new float[half], sin = new float[half];
            for (int i = 0; i < half; i++) {
                double angle = pos * freq[i];
                cos[i] = (float) Math.cos(angle);
                sin[i] = (float) (inverse ? -Math.sin(angle) : Math.sin(angle));
            }
            for (int h = 0; h < heads; h++) {
                long at = (s * heads + h) * dim;
                for (int i = 0; i < half; i++) {
                    float x1 = get(x, at + i), x2 = get(x, at + i + half);
                    set(x, at + i, x1 * cos[i] - x2 * sin[i]);
                    set(x, at + i + half, x2 * cos[i] + x1 * sin[i]);
                }
            }
        });
    }

    @Override
    public void swigluForward(Tensor gate, Tensor up, Tensor out) {
        requireF32(gate, up, out);
        requireSameShape(gate, up, out);
        forFlat(gate.numel(), i -> {
            float g = get(gate, i);
            set(out, i, g / (1f + (float) Math.exp(-g)) * get(up, i));
        });
    }

    @Override
    public void swigluBackward(Tensor gate, Tensor up, Tensor dout, Tensor dgate, Tensor dup) {
        requireF32(gate, up, dout, dgate, dup);
        requireSameShape(gate, up, dout, dgate, dup);
        forFlat(gate.numel(), i -> {
            float g = get(gate, i), u = get(up, i), d = get(dout, i);
            float sig = 1f / (1f + (float) Math.exp(-g));
            set(dup, i, d * g * sig);
            set(dgate, i, d * u * sig * (1f + g * (1f - sig)));
        });
    }

    @Override
    public void embeddingForward(Tensor table, Tensor tokens, Tensor out) {
        requireF32(table, out);
        int d = lastDim(table);
        long vocab = table.dim(0);
        out.requireShape(tokens.numel(), d);
        forRows(tokens.numel(), s -> {
            int t = token(tokens, s, vocab);
            MemorySegment.copy(table.data(), t * d * 4L, out.data(), s * d * 4L, d * 4L);
        });
    }

    @Override
    public void embeddingBackward(Tensor tokens, Tensor dout, Tensor dtable) {
        requireF32(dout, dtable);
        int d = lastDim(dtable);
        long vocab = dtable.dim(0), rows = tokens.numel();
        dout.requireShape(rows, d);
        // Split by columns, not tokens: a repeated token then never has two writers, and each
        // element adds its rows in token order.
        int slices = Math.max(1, Math.min(d / 8, CpuThreads.COUNT * 2));
        CpuThreads.parallelFor(slices, slice -> {
            int from = slice * d / slices, to = (slice + 1) * d / slices;
            for (long s = 0; s < rows; s++) {
                long dst = token(tokens, s, vocab) * (long) d, src = s * d;
                for (int i = from; i < to; i++) {
                    set(dtable, dst + i, get(dtable, dst + i) + get(dout, src + i));
                }
            }
        });
    }

    @Override
    public void crossEntropy(Tensor logits, Tensor targets, Tensor losses, float gradScale) {
        requireF32(logits, losses);
        targets.requireDType(DType.I32);
        int vocab = lastDim(logits);
        long rows = logits.numel() / vocab;
        if (targets.numel() != rows || losses.numel() != rows) {
            throw new IllegalArgumentException("crossEntropy: " + rows + " rows of logits but targets " + targets + ", losses " + losses);
        }
        MemorySegment seg = logits.data();
        int bound = F.loopBound(vocab);
        // Rows of 50257 logits: eight a task, so that the two threads of a 256-row chunk share 32 tasks, not 4.
        forRows(rows, 8, r -> {
            int target = targets.getInt(r);
            long base = r * vocab * 4;
            if (target == -1) {
                losses.data().setAtIndex(FLOAT, r, 0f);
                seg.asSlice(base, vocab * 4L).fill((byte) 0);
                return;
            }
            if (target < 0 || target >= vocab) {
                throw new IllegalArgumentException("target " + target + " outside the vocabulary [0, " + vocab + ")");
            }
            // Two maxima in flight: one chain would wait out the max latency at every vector.
            FloatVector max0 = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            FloatVector max1 = max0;
            int i = 0;
            for (; i + 2 * F.length() <= bound; i += 2 * F.length()) {
                max0 = max0.max(FloatVector.fromMemorySegment(F, seg, base + i * 4L, ORDER));
                max1 = max1.max(FloatVector.fromMemorySegment(F, seg, base + (i + F.length()) * 4L, ORDER));
            }
            for (; i < bound; i += F.length()) {
                max0 = max0.max(FloatVector.fromMemorySegment(F, seg, base + i * 4L, ORDER));
            }
            float max = max0.max(max1).reduceLanes(VectorOperators.MAX);
            for (; i < vocab; i++) {
                max = Math.max(max, seg.getAtIndex(FLOAT, r * vocab + i));
            }
            float targetLogit = seg.getAtIndex(FLOAT, r * vocab + target);
            // e^(x - max) once, kept in place: the gradient is e / sum, one multiply more.
            FloatVector sum = FloatVector.zero(F);
            i = 0;
            for (; i < bound; i += F.length()) {
                long at = base + i * 4L;
                FloatVector e = exp(FloatVector.fromMemorySegment(F, seg, at, ORDER).sub(max));
                e.intoMemorySegment(seg, at, ORDER);
                sum = sum.add(e);
            }
            double total = sumLanes(sum);
            for (; i < vocab; i++) {
                float e = (float) Math.exp(seg.getAtIndex(FLOAT, r * vocab + i) - max);
                seg.setAtIndex(FLOAT, r * vocab + i, e);
                total += e;
            }
            float lse = (float) (max + Math.log(total));
            losses.data().setAtIndex(FLOAT, r, lse - targetLogit);
            float norm = (float) (gradScale / total);
            i = 0;
            for (; i < bound; i += F.length()) {
                long at = base + i * 4L;
                FloatVector.fromMemorySegment(F, seg, at, ORDER).mul(norm).intoMemorySegment(seg, at, ORDER);
            }
            for (; i < vocab; i++) {
                seg.setAtIndex(FLOAT, r * vocab + i, seg.getAtIndex(FLOAT, r * vocab + i) * norm);
            }
            long t = r * vocab + target;
            seg.setAtIndex(FLOAT, t, seg.getAtIndex(FLOAT, t) - gradScale);
        });
    }

    @Override
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step) {
        requireF32(param, grad, m, v);
        requireSameShape(param, grad, m, v);
        float b1 = step.beta1(), b2 = step.beta2();
        float correction1 = (float) (1 - Math.pow(b1, step.step()));
        float correction2 = (float) (1 - Math.pow(b2, step.step()));
        float lr = step.lr(), decay = step.lr() * step.weightDecay(), eps = step.eps();
        forFlat(param.numel(), i -> {
            float g = get(grad, i);
            float mi = b1 * get(m, i) + (1 - b1) * g;
            float vi = b2 * get(v, i) + (1 - b2) * g * g;
            set(m, i, mi);
            set(v, i, vi);
            float p = get(param, i);
            set(param, i, p - lr * (mi / correction1) / ((float) Math.sqrt(vi / correction2) + eps) - decay * p);
        });
    }

    /**
     * {@code e^x} by the backend's polynomial rather than {@code lanewise(EXP)}, whose intrinsic
     * and interpreted forms may differ in the last bit: training must not depend on JIT timing.
     */
    private static FloatVector exp(FloatVector x) {
        return VectorExp.exp2(x.mul(LOG2_E));
    }

    /**
     * Lanes summed in lane order. {@code reduceLanes(ADD)} leaves the order to the implementation,
     * and C2's intrinsic does not add in the interpreter's order: results would change when the
     * JIT compiles a loop, and runs would not repeat bit for bit.
     */
    static double sumLanes(FloatVector v) {
        double total = 0;
        for (int i = 0; i < v.length(); i++) {
            total += v.lane(i);
        }
        return total;
    }

    private void forRows(long rows, LongTask body) {
        forRows(rows, ROW_CHUNK, body);
    }

    private void forRows(long rows, int rowsPerTask, LongTask body) {
        int chunks = (int) ((rows + rowsPerTask - 1) / rowsPerTask);
        CpuThreads.parallelFor(chunks, c -> {
            for (long r = (long) c * rowsPerTask; r < Math.min(rows, (long) (c + 1) * rowsPerTask); r++) {
                body.run(r);
            }
        });
    }

    private void forFlat(long count, LongTask body) {
        long block = 1 << 14;
        int chunks = (int) ((count + block - 1) / block);
        CpuThreads.parallelFor(chunks, c -> {
            for (long i = c * block; i < Math.min(count, (c + 1) * block); i++) {
                body.run(i);
            }
        });
    }

    @FunctionalInterface
    private interface LongTask {
        void run(long index);
    }

    private static float get(Tensor t, long i) {
        return t.data().getAtIndex(FLOAT, i);
    }

    private static void set(Tensor t, long i, float v) {
        t.data().setAtIndex(FLOAT, i, v);
    }

    private static int token(Tensor tokens, long s, long vocab) {
        int t = tokens.getInt(s);
        if (t < 0 || t >= vocab) {
            throw new IllegalArgumentException("token " + t + " at row " + s + " outside the vocabulary [0, " + vocab + ")");
        }
        return t;
    }

    private static int lastDim(Tensor t) {
        return Math.toIntExact(t.dim(-1));
    }

    private static void requireF32(Tensor... ts) {
        for (Tensor t : ts) {
            t.requireDType(DType.F32);
        }
    }

    private static void requireSameShape(Tensor first, Tensor... rest) {
        for (Tensor t : rest) {
            if (t.numel() != first.numel()) {
                throw new IllegalArgumentException("shapes differ: " + first + " and " + t);
            }
        }
    }
}
