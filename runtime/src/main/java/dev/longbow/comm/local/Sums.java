package dev.longbow.comm.local;

import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * Element-wise sums for the reductions. Every rank adds the contributions in rank order, so an
 * all-reduce leaves bit-identical results on all ranks; 16-bit types are summed in fp32 and
 * rounded once.
 */
final class Sums {
    private static final int CHUNK = 4096;

    private Sums() {
    }

    static void sumInto(List<Tensor> sources, Tensor dst) {
        if (dst.dtype() == DType.I32) {
            sumInts(sources, dst);
            return;
        }
        float[] acc = new float[CHUNK];
        long n = dst.numel();
        for (long start = 0; start < n; start += CHUNK) {
            int len = (int) Math.min(CHUNK, n - start);
            java.util.Arrays.fill(acc, 0, len, 0f);
            for (Tensor src : sources) {
                add(src, start, len, acc);
            }
            for (int i = 0; i < len; i++) {
                dst.setFloat(start + i, acc[i]);
            }
        }
    }

    private static void add(Tensor src, long start, int len, float[] acc) {
        if (src.dtype() == DType.F32) {
            MemorySegment s = src.data();
            for (int i = 0; i < len; i++) {
                acc[i] += s.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, start + i);
            }
        } else {
            for (int i = 0; i < len; i++) {
                acc[i] += src.getFloat(start + i);
            }
        }
    }

    private static void sumInts(List<Tensor> sources, Tensor dst) {
        for (long i = 0; i < dst.numel(); i++) {
            int s = 0;
            for (Tensor src : sources) {
                s += src.getInt(i);
            }
            dst.setInt(i, s);
        }
    }
}
