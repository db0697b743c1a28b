package dev.longbow.train;

import dev.longbow.data.DataPosition;
import dev.longbow.data.SequenceSource;
import dev.longbow.data.TokenSequence;

import java.util.Random;

/** Sequence i drawn from seed + i: a deterministic, seekable stream with some learnable structure (repeats). */
public final class RandomSequences implements SequenceSource {
    private final int vocab;
    private final int length;
    private final long seed;
    private long next;

    public RandomSequences(int vocab, int length, long seed) {
        this.vocab = vocab;
        this.length = length;
        this.seed = seed;
    }

    @Override
    public TokenSequence next() {
        Random random = new Random(seed + next++);
        int[] window = new int[length + 1];
        for (int i = 0; i < window.length; i++) {
            window[i] = i >= 4 && random.nextBoolean() ? window[i - 4] : random.nextInt(vocab);
        }
        return TokenSequence.nextToken(window, 0, length);
    }

    @Override
    public DataPosition position() {
        return new DataPosition(next, next, 0);
    }

    @Override
    public void seek(DataPosition position) {
        next = position.document();
    }

    @Override
    public int vocabSize() {
        return vocab;
    }

    @Override
    public String describe() {
        return "random sequences (seed " + seed + ")";
    }
}
