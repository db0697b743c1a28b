package dev.longbow.data;

/**
 * A deterministic stream of training sequences whose place can be saved and restored: after
 * {@code seek(p)} with a {@code p} taken from {@link #position()}, {@link #next()} returns what it
 * returned after that position was taken.
 */
public interface SequenceSource extends AutoCloseable {

    /**
     * The next training sequence.
     *
     * @return its tokens and targets
     */
    TokenSequence next();

    /**
     * Where the next sequence comes from, for a checkpoint.
     *
     * @return the position
     */
    DataPosition position();

    /**
     * Continues from a position {@link #position} gave, as a resumed run does.
     *
     * @param position where to continue
     */
    void seek(DataPosition position);

    /** The tokenizer's vocabulary size: the model's embedding rows. */
    int vocabSize();

    /** What this source reads, for logs and checkpoints ("jdk src.zip (r50k_base)"). */
    String describe();

    /**
     * The tokenizer the ids come from, as {@link Tokenizer#open} takes it; "task:NAME" for a task's
     * own vocabulary; null when no tokenizer describes them (random test data).
     */
    default String tokenizer() {
        return null;
    }

    @Override
    default void close() {
    }
}
