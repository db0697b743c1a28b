package dev.longbow.backend.cpu;

import dev.longbow.tensor.Tensor;
import java.util.Arrays;

/**
 * The forward's key block and the fp32 packings of one head that the flash kernels read. A head
 * of a {@code [S, H, D]} tensor is packed either as rows ({@code [S', D']}, D' = D rounded up to
 * {@link MicroGemm#LANES}) or as transposed key blocks ({@code [S'/block][D][block]}), S' rounded
 * up to whole blocks; padding is zero.
 */
final class Tiling {
    /** Keys per forward tile; a multiple of three vectors of every species (the kernel's width). */
    static final int BLOCK_K = 96;

    private Tiling() {
    }

    static int paddedDim(int d) {
        return roundUp(d, MicroGemm.LANES);
    }

    static int blocks(int n, int block) {
        return (n + block - 1) / block;
    }

    static int roundUp(int n, int multiple) {
        return blocks(n, multiple) * multiple;
    }

    /**
     * Keys of a block that query position {@code qPos} may see: the block starts at global
     * position {@code kPos}, holds {@code keys} keys, and a causal mask hides keys after qPos.
     */
    static int visibleKeys(long qPos, long kPos, int keys, boolean causal) {
        return causal ? (int) Math.max(0, Math.min(keys, qPos - kPos + 1)) : keys;
    }

    /**
     * Head {@code head} of {@code t [S, H, D]} as rows {@code [rows, dp]} into {@code packed},
     * zero beyond S and D (written, since {@code packed} may hold an earlier call's packing).
     */
    static void packRows(Tensor t, int head, int rows, int dp, float[] packed) {
        int s = Math.toIntExact(t.dim(0));
        int heads = Math.toIntExact(t.dim(1));
        int d = Math.toIntExact(t.dim(2));
        for (int i = 0; i < s; i++) {
            FloatRows.load(t, ((long) i * heads + head) * d, packed, i * dp, d);
            Arrays.fill(packed, i * dp + d, (i + 1) * dp, 0f);
        }
        Arrays.fill(packed, s * dp, rows * dp, 0f);
    }

    /**
     * Head {@code head} of {@code t [S, H, D]} transposed block by block into {@code packed}:
     * element (i, e) at {@code [(i / block) * D * block + e * block + i % block]}, zero beyond S.
     */
    static void packTransposedBlocks(Tensor t, int head, int block, float[] packed) {
        int s = Math.toIntExact(t.dim(0));
        int heads = Math.toIntExact(t.dim(1));
        int d = Math.toIntExact(t.dim(2));
        float[] row = new float[d];
        for (int i = 0; i < s; i++) {
            FloatRows.load(t, ((long) i * heads + head) * d, row, 0, d);
            int at = (i / block) * d * block + i % block;
            for (int e = 0; e < d; e++) {
                packed[at + e * block] = row[e];
            }
        }
        int lastBlock = (s / block) * d * block;
        for (int e = 0; s % block != 0 && e < d; e++) {
            Arrays.fill(packed, lastBlock + e * block + s % block, lastBlock + (e + 1) * block, 0f);
        }
    }
}
