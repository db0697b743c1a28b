package dev.longbow.kernels;

/**
 * One launch's geometry: grid and block extents and the dynamic shared memory in bytes. The
 * factories encode how each kernel family in src/main/cuda walks its data; the grid-stride
 * kernels get at most {@link #WAVES} blocks per SM, enough to fill the GPU, no more.
 */
record Launch(int gridX, int gridY, int blockX, int blockY, int sharedBytes) {
    static final int THREADS = 256;
    /** Resident blocks of 256 threads per SM (2048 threads) on sm_80 and sm_90. */
    static final int WAVES = 8;
    /** Largest grid y extent the hardware allows. */
    static final int MAX_GRID_Y = 65535;

    Launch {
        if (gridX < 1 || gridY < 1 || gridY > MAX_GRID_Y || blockX < 1 || blockY < 1 || blockX * blockY > 1024) {
            throw new IllegalArgumentException("bad launch geometry: grid (" + gridX + ", " + gridY + "), block (" + blockX + ", " + blockY + ")");
        }
    }

    /** A grid-stride kernel with {@code steps} units of work (elements, or packs of elements), 256 threads a block. */
    static Launch stream(long steps, int sms) {
        return new Launch(blocks(ceilDiv(steps, THREADS), sms), 1, THREADS, 1, 0);
    }

    /**
     * Row kernels (layout.cu, embedding.cu): a row of blockX threads per row of {@code rowSteps}
     * steps, blockY rows per block, blocks striding over {@code rows}.
     */
    static Launch rows(long rows, long rowSteps, int sms) {
        int x = (int) Math.min(THREADS, roundUp(Math.max(rowSteps, 1), 32));
        int y = THREADS / x;
        return new Launch(blocks(ceilDiv(rows, y), sms), 1, x, y, 0);
    }

    /** Block-per-row kernels (rmsnorm.cu, cross_entropy.cu): up to 512 threads over a row, at most {@code maxBlocks} blocks. */
    static Launch blockPerRow(long rows, long rowSteps, long maxBlocks) {
        int x = (int) Math.min(512, roundUp(Math.max(rowSteps, 1), 32));
        return new Launch((int) Math.max(1, Math.min(rows, maxBlocks)), 1, x, 1, 0);
    }

    /** Warp-per-row kernels (merge.cu): 8 rows per block of 256 threads. */
    static Launch warpPerRow(long rows, int sms) {
        return new Launch(blocks(ceilDiv(rows, THREADS / 32), sms), 1, THREADS, 1, 0);
    }

    /** gemm.cu: a 128x128 tile of C per block, three stages of both operands in dynamic shared memory. */
    static Launch gemm(int m, int n, boolean transA, boolean transB, int elementBytes) {
        long tilesM = ceilDiv(m, GEMM_TILE);
        if (tilesM > MAX_GRID_Y) {
            throw new IllegalArgumentException("matmul with " + m + " rows exceeds " + (long) MAX_GRID_Y * GEMM_TILE + " (grid y limit); split it");
        }
        int shared = GEMM_STAGES * (gemmOperandElements(!transA, elementBytes) + gemmOperandElements(transB, elementBytes)) * elementBytes;
        return new Launch((int) Math.max(1, ceilDiv(n, GEMM_TILE)), (int) Math.max(1, tilesM), THREADS, 1, shared);
    }

    static final int GEMM_TILE = 128;
    static final int GEMM_STAGES = 3;

    /**
     * Elements of one operand's stage in gemm.cu's shared memory (Operand::ELEMS): a K-contiguous
     * operand ([128][BK + pad]) or an M/N-contiguous one ([BK][128 + 8]), BK = 64 bytes of K.
     */
    static int gemmOperandElements(boolean kContiguous, int elementBytes) {
        int bk = 64 / elementBytes;
        int pad = 16 / elementBytes;
        return kContiguous ? GEMM_TILE * (bk + pad) : bk * (GEMM_TILE + 8);
    }

    // flash_fwd.cu / flash_bwd.cu, as the tables of FLASH_ABI.md give them. The grids are
    // one-dimensional: the kernels order the (head, row block) pairs themselves.
    static final int FLASH_ROWS = 128;

    /**
     * Forward: a block per (128 query rows, query head); the Q tile and two K/V tiles in shared
     * memory (D=128: 8 warps, 128 keys a step; D=64: 4 warps, 64 keys).
     */
    static Launch flashForward(long sq, long hq, int d) {
        int threads = d == 128 ? 256 : 128;
        int keys = d == 128 ? 128 : 64;
        int shared = (FLASH_ROWS + 2 * keys) * d * 2;
        return new Launch(flashBlocks("query", sq, hq), 1, threads, 1, shared);
    }

    /** Backward: a block of 256 threads per (128 key rows, kv head), one block per SM. */
    static Launch flashBackward(long sk, long hkv, int d) {
        int shared = (2 * 128 * d + 4 * 64 * d + 2 * 64 * 128) * 2 + 1024;
        return new Launch(flashBlocks("key", sk, hkv), 1, 256, 1, shared);
    }

    /** Backward's rowsum(dout * out): a warp per (row, head), 8 per block. */
    static Launch flashDelta(long sq, long hq) {
        return new Launch(Math.toIntExact(ceilDiv(sq * hq, 8)), 1, 256, 1, 0);
    }

    private static int flashBlocks(String what, long rows, long heads) {
        long blocks = ceilDiv(rows, FLASH_ROWS) * heads;
        if (blocks > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("attention over " + rows + " " + what + " rows and " + heads
                    + " heads needs more than 2^31 blocks; split the sequence");
        }
        return (int) blocks;
    }

    private static int blocks(long wanted, int sms) {
        return (int) Math.max(1, Math.min(wanted, (long) sms * WAVES));
    }

    static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    private static long roundUp(long a, long b) {
        return ceilDiv(a, b) * b;
    }
}
