package dev.longbow.parallel;

import java.util.List;

/**
 * Maps a rank's local token index to its global position in the sequence. The model's rotary
 * embeddings and the data loader's sharding both follow it, and so must a program that hands a
 * scheme its inputs: {@link #shard} cuts a whole sequence's array into a rank's rows in this
 * layout, {@link #gather} puts the ranks' results back in sequence order.
 *
 * <p>Arrays are row-major with tokens outermost, as attention tensors are: a q of {@code S}
 * tokens, {@code H} heads and head dim {@code D} is {@code S * H * D} floats, token after token.
 */
@FunctionalInterface
public interface SequenceLayout {

    /**
     * The global position of a rank's token.
     *
     * @param rank       the rank, {@code 0 <= rank < ranks}
     * @param ranks      the ranks the sequence is split over
     * @param seqLen     tokens in the whole sequence
     * @param localIndex the token's index in the rank's shard, {@code 0 <= localIndex < seqLen / ranks}
     * @return its position in the whole sequence
     */
    long globalPosition(int rank, int ranks, long seqLen, long localIndex);

    /**
     * Tokens of each rank's shard when {@code seqLen} tokens are split over {@code ranks} ranks:
     * every layout gives each rank the same number. Throws {@link IllegalArgumentException} naming
     * the fix when the sequence does not split evenly.
     *
     * @param seqLen tokens in the whole sequence
     * @param ranks  the ranks it is split over
     * @return {@code seqLen / ranks}
     */
    static long localLen(long seqLen, int ranks) {
        if (ranks < 1) {
            throw new IllegalArgumentException("ranks " + ranks + " must be at least 1");
        }
        if (seqLen % ranks != 0) {
            throw new IllegalArgumentException("sequence length " + seqLen + " not divisible by ranks " + ranks
                    + " (each rank holds seqLen / ranks tokens; use --seq-len " + (seqLen / ranks + 1) * ranks + ")");
        }
        return seqLen / ranks;
    }

    /**
     * The rows rank {@code rank} of {@code ranks} holds, in its local order: what it passes a
     * scheme. {@code sequence} holds {@code seqLen} rows of equal width (any number of floats per
     * token: {@code H * D} for q, {@code H} for lse).
     *
     * @param sequence the whole sequence, row-major, tokens outermost
     * @param seqLen   tokens in it
     * @param rank     the rank whose shard is wanted
     * @param ranks    the ranks the sequence is split over
     * @return a new array of {@code seqLen / ranks} rows
     * @throws IllegalArgumentException when the array is not {@code seqLen} rows, or the sequence
     *                                  does not split over the ranks
     */
    default float[] shard(float[] sequence, long seqLen, int rank, int ranks) {
        int width = rowWidth(sequence.length, seqLen);
        long local = localLen(seqLen, ranks);
        if (rank < 0 || rank >= ranks) {
            throw new IllegalArgumentException("rank " + rank + " is not one of ranks 0.." + (ranks - 1));
        }
        float[] mine = new float[Math.toIntExact(local * width)];
        for (long i = 0; i < local; i++) {
            long g = globalPosition(rank, ranks, seqLen, i);
            System.arraycopy(sequence, Math.toIntExact(g * width), mine, Math.toIntExact(i * width), width);
        }
        return mine;
    }

    /**
     * The whole sequence from every rank's shard: the inverse of {@link #shard}. Rank r's rows go
     * to the positions this layout gives them.
     *
     * @param shards every rank's rows in rank order, each {@code seqLen / shards.size()} rows of one width
     * @param seqLen tokens in the whole sequence
     * @return a new array of {@code seqLen} rows in sequence order
     * @throws IllegalArgumentException when the shards' sizes do not make {@code seqLen} equal rows
     */
    default float[] gather(List<float[]> shards, long seqLen) {
        int ranks = shards.size();
        long local = localLen(seqLen, ranks);
        int width = rowWidth(shards.getFirst().length, local);
        float[] sequence = new float[Math.toIntExact(seqLen * width)];
        for (int r = 0; r < ranks; r++) {
            float[] mine = shards.get(r);
            if (mine.length != local * width) {
                throw new IllegalArgumentException("rank " + r + "'s shard has " + mine.length + " floats but rank 0's has "
                        + local * width + "; every rank holds " + local + " rows of " + width);
            }
            for (long i = 0; i < local; i++) {
                long g = globalPosition(r, ranks, seqLen, i);
                System.arraycopy(mine, Math.toIntExact(i * width), sequence, Math.toIntExact(g * width), width);
            }
        }
        return sequence;
    }

    private static int rowWidth(int length, long rows) {
        if (rows < 1 || length % rows != 0 || length == 0) {
            throw new IllegalArgumentException("an array of " + length + " floats is not " + rows + " rows of equal width");
        }
        return Math.toIntExact(length / rows);
    }

    /** Rank r holds tokens {@code [r S/P, (r+1) S/P)}. */
    SequenceLayout CONTIGUOUS = (rank, ranks, seqLen, i) -> rank * (seqLen / ranks) + i;

    /**
     * The sequence cut into 2P chunks; rank r holds chunks r and 2P-1-r, which balances the
     * causal mask's work across ranks.
     */
    SequenceLayout ZIGZAG = (rank, ranks, seqLen, i) -> {
        long chunk = seqLen / (2L * ranks);
        return i < chunk ? rank * chunk + i : (2L * ranks - 1 - rank) * chunk + (i - chunk);
    };

    /**
     * The sequence cut into sub-chunks of {@code subChunk} tokens dealt round-robin: rank r holds
     * sub-chunks r, r+P, r+2P, ... so that an all-to-all of any one of its sub-chunks yields a
     * contiguous span of the sequence (FPDT).
     *
     * @param subChunk tokens per sub-chunk
     * @return the layout
     */
    static SequenceLayout strided(long subChunk) {
        return (rank, ranks, seqLen, i) -> ((i / subChunk) * ranks + rank) * subChunk + i % subChunk;
    }
}
