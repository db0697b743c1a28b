package dev.longbow.data;

/**
 * One training sequence: {@code tokens[i]} is the input at position i and {@code targets[i]} the
 * token to predict there, or -1 where no loss is taken.
 */
public record TokenSequence(int[] tokens, int[] targets) {

    /** Refuses tokens and targets of different lengths. */
    public TokenSequence {
        if (tokens.length != targets.length) {
            throw new IllegalArgumentException(tokens.length + " tokens but " + targets.length + " targets");
        }
    }

    /** Language modelling on a window of {@code length + 1} tokens: each position predicts the next. */
    public static TokenSequence nextToken(int[] window, int from, int length) {
        int[] tokens = new int[length], targets = new int[length];
        System.arraycopy(window, from, tokens, 0, length);
        System.arraycopy(window, from + 1, targets, 0, length);
        return new TokenSequence(tokens, targets);
    }

    /**
     * Tokens in the sequence.
     *
     * @return its length
     */
    public int length() {
        return tokens.length;
    }
}
