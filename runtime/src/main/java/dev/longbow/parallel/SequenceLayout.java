package dev.longbow.parallel;

/**
 * Maps a rank's local token index to its global position in the sequence. The model's rotary
 * embeddings and the data loader's sharding both follow it.
 */
@FunctionalInterface
public interface SequenceLayout {

    long globalPosition(int rank, int ranks, long seqLen, long localIndex);

    /**
     * Tokens of each rank's shard when {@code seqLen} tokens are split over {@code ranks} ranks:
     * every layout gives each rank the same number. Throws {@link IllegalArgumentException} naming
     * the fix when the sequence does not split evenly.
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
     */
    static SequenceLayout strided(long subChunk) {
        return (rank, ranks, seqLen, i) -> ((i / subChunk) * ranks + rank) * subChunk + i % subChunk;
    }
}
