package dev.longbow.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Where a micro-tile lands in C, how much of it is inside C, whether it stores or adds, and
 * where the kernel leaves its accumulators ({@code spill}, NR floats a row). The kernel spills
 * to an array and {@link #write()} moves the tile into C: with C's vector stores inside the
 * kernel, C2 left their bounds checks out of line (a tenth of the head's logits product).
 */
record GemmTile(MemorySegment c, long ldc, int row, int col, int rows, int cols, float alpha, boolean store,
                float[] spill, int spillAt) {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = F.length();
    private static final int NR = CpuModelOpsGemm.NR;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    void write() {
        if (cols == NR) {
            for (int r = 0; r < rows; r++) {
                long at = ((row + r) * ldc + col) * 4;
                writeVector(at, spillAt + r * NR);
                writeVector(at + LANES * 4L, spillAt + r * NR + LANES);
            }
            return;
        }
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) {
                long at = (row + r) * ldc + col + j;
                float v = alpha * spill[spillAt + r * NR + j];
                c.setAtIndex(FLOAT, at, store ? v : c.getAtIndex(FLOAT, at) + v);
            }
        }
    }

    private void writeVector(long byteOffset, int from) {
        FloatVector v = FloatVector.fromArray(F, spill, from).mul(alpha);
        if (!store) {
            v = v.add(FloatVector.fromMemorySegment(F, c, byteOffset, ByteOrder.nativeOrder()));
        }
        v.intoMemorySegment(c, byteOffset, ByteOrder.nativeOrder());
    }
}
