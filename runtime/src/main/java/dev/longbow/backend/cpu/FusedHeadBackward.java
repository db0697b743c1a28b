package dev.longbow.backend.cpu;

import static dev.longbow.backend.cpu.CpuModelOpsGemm.KC;
import static dev.longbow.backend.cpu.CpuModelOpsGemm.NR;

import dev.longbow.backend.cpu.CpuModelOpsGemm.Operand;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vocabulary head's backward for one chunk of rows, {@code dx = dlogits head} and
 * {@code dhead += dlogits^T x}, in one pass over dlogits instead of two. dlogits ({@code [rows, V]},
 * 51 MB for 256 rows of a 50257-token vocabulary) is the largest tensor of a training step and
 * lives in DRAM: as two matmuls, each product streamed all of it from memory, its packing stalled
 * on the loads. Here each block of {@link CpuModelOpsGemm#KC} vocabulary columns is packed from
 * memory once for dx's product and, right after, from L2 for dhead's.
 *
 * <p>A task owns a contiguous group of those blocks: the dhead rows of its blocks outright, and a
 * partial dx; dx is the sum of the partials in group order. The number of groups is fixed, not
 * taken from the thread count, so the result is the same bit for bit whatever the threads.
 * Reference: {@code CpuModelOpsTest} against float64; speed: the training step in
 * {@code bench/side-by-side.sh}.
 */
final class FusedHeadBackward {
    /** Groups of vocabulary blocks, a partial dx each: work for 16 threads, few partials to sum. */
    private static final int GROUPS = 16;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private FusedHeadBackward() {
    }

    /** One worker's packing buffers; x, the same for every block, is packed once per worker. */
    private record Scratch(float[] packedA, float[] packedHead, float[] packedX) {
    }

    static void run(CpuModelOpsGemm gemm, Tensor dlogits, Tensor head, Tensor x, Tensor dx, Tensor dhead) {
        CpuModelOpsGemm.requireMatrices("headBackward", dlogits, head, x, dx, dhead);
        long rowCount = dlogits.dim(0), vocabSize = dlogits.dim(1), width = head.dim(1);
        if (head.dim(0) != vocabSize || dhead.dim(0) != vocabSize || dhead.dim(1) != width
                || x.dim(0) != rowCount || x.dim(1) != width || dx.dim(0) != rowCount || dx.dim(1) != width) {
            throw new IllegalArgumentException("headBackward shapes do not fit: dlogits " + dlogits.shape() + ", head "
                    + head.shape() + ", x " + x.shape() + ", dx " + dx.shape() + ", dhead " + dhead.shape());
        }
        if (rowCount * vocabSize > Integer.MAX_VALUE || vocabSize * width > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("headBackward extent over 2^31: dlogits " + dlogits.shape() + ", head " + head.shape());
        }
        int rows = (int) rowCount, vocab = (int) vocabSize, d = (int) width;
        int kBlocks = (vocab + KC - 1) / KC;
        if (rows == 0 || d == 0 || kBlocks == 0) {
            dx.data().fill((byte) 0);
            return;
        }
        int groups = Math.min(GROUPS, kBlocks);
        int panels = (d + NR - 1) / NR;
        int rowBlocks = (rows + KC - 1) / KC;
        long partialBytes = (long) rows * d * 4;
        Operand plain = new Operand(dlogits.data(), vocab, false);
        Operand transposed = new Operand(dlogits.data(), vocab, true);
        Operand headRows = Operand.of(head, false);
        int spillAt = gemm.spillAt();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment partials = arena.allocate(groups * partialBytes, 64);
            CpuThreads.parallelFor(groups, worker -> scratch(gemm, x, rows, d, panels, rowBlocks, spillAt), (s, g) -> {
                MemorySegment partial = partials.asSlice(g * partialBytes, partialBytes);
                int kb0 = g * kBlocks / groups, kb1 = (g + 1) * kBlocks / groups;
                for (int kb = kb0; kb < kb1; kb++) {
                    int v0 = kb * KC, kc = Math.min(KC, vocab - v0);
                    // dx partial (+)= dlogits[:, v0 .. v0 + kc) head[v0 .. v0 + kc): the block comes from memory.
                    for (int p = 0; p < panels; p++) {
                        CpuModelOpsGemm.packRowsB(headRows, v0, kc, p * NR, Math.min(NR, d - p * NR), s.packedHead, p * NR * kc);
                    }
                    for (int m0 = 0; m0 < rows; m0 += gemm.mc) {
                        int mRows = Math.min(gemm.mc, rows - m0);
                        gemm.packA(plain, m0, mRows, v0, kc, s.packedA);
                        for (int p = 0; p < panels; p++) {
                            gemm.microTiles(false, s.packedA, mRows, s.packedHead, p * NR * kc, kc, new GemmTile(partial, d, m0, p * NR, 0,
                                    Math.min(NR, d - p * NR), 1f, kb == kb0, s.packedA, spillAt));
                        }
                    }
                    // dhead[v0 .. v0 + kc) += dlogits[:, v0 .. v0 + kc)^T x: the same block, now from L2.
                    for (int rb = 0; rb < rowBlocks; rb++) {
                        int r0 = rb * KC, rc = Math.min(KC, rows - r0);
                        gemm.packA(transposed, v0, kc, r0, rc, s.packedA);
                        for (int p = 0; p < panels; p++) {
                            gemm.microTiles(true, s.packedA, kc, s.packedX, (rb * panels + p) * NR * KC, rc, new GemmTile(dhead.data(), d, v0,
                                    p * NR, 0, Math.min(NR, d - p * NR), 1f, false, s.packedA, spillAt));
                        }
                    }
                }
            });
            sumPartials(partials, groups, partialBytes, dx.data());
        }
    }

    private static Scratch scratch(CpuModelOpsGemm gemm, Tensor x, int rows, int d, int panels, int rowBlocks, int spillAt) {
        float[] packedX = new float[rowBlocks * panels * NR * KC];
        Operand xRows = Operand.of(x, false);
        for (int rb = 0; rb < rowBlocks; rb++) {
            for (int p = 0; p < panels; p++) {
                CpuModelOpsGemm.packRowsB(xRows, rb * KC, Math.min(KC, rows - rb * KC), p * NR, Math.min(NR, d - p * NR),
                        packedX, (rb * panels + p) * NR * KC);
            }
        }
        return new Scratch(new float[spillAt + gemm.mr * NR], new float[panels * NR * KC], packedX);
    }

    /** {@code dx = partial 0 + partial 1 + ...}, in that order. */
    private static void sumPartials(MemorySegment partials, int groups, long partialBytes, MemorySegment dx) {
        ByteOrder order = ByteOrder.nativeOrder();
        long vectorBytes = F.vectorByteSize();
        long at = 0;
        for (; at + vectorBytes <= partialBytes; at += vectorBytes) {
            FloatVector sum = FloatVector.fromMemorySegment(F, partials, at, order);
            for (int g = 1; g < groups; g++) {
                sum = sum.add(FloatVector.fromMemorySegment(F, partials, g * partialBytes + at, order));
            }
            sum.intoMemorySegment(dx, at, order);
        }
        for (; at < partialBytes; at += 4) {
            float sum = partials.get(ValueLayout.JAVA_FLOAT_UNALIGNED, at);
            for (int g = 1; g < groups; g++) {
                sum += partials.get(ValueLayout.JAVA_FLOAT_UNALIGNED, g * partialBytes + at);
            }
            dx.set(ValueLayout.JAVA_FLOAT_UNALIGNED, at, sum);
        }
    }
}
