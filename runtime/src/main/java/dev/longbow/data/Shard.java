package dev.longbow.data;

import dev.longbow.parallel.SequenceLayout;

/**
 * One rank's part of a training sequence: the tokens at the global positions the scheme's layout
 * gives it, their next-token targets (-1: no loss there) and those positions (for the rotary
 * embeddings).
 */
public record Shard(int[] tokens, int[] targets, int[] positions) {

    /** Rank {@code rank}'s shard of {@code tokens}/{@code targets} (each the whole sequence, equal length). */
    public static Shard of(int[] tokens, int[] targets, SequenceLayout layout, int rank, int ranks) {
        int seqLen = tokens.length;
        if (targets.length != seqLen) {
            throw new IllegalArgumentException(seqLen + " tokens but " + targets.length + " targets");
        }
        int localLen = Math.toIntExact(SequenceLayout.localLen(seqLen, ranks));
        int[] t = new int[localLen], y = new int[localLen], p = new int[localLen];
        for (int i = 0; i < localLen; i++) {
            long position = layout.globalPosition(rank, ranks, seqLen, i);
            p[i] = Math.toIntExact(position);
            t[i] = tokens[p[i]];
            y[i] = targets[p[i]];
        }
        return new Shard(t, y, p);
    }

    /** Targets in a whole sequence that carry a loss. */
    public static int countTargets(int[] targets) {
        int n = 0;
        for (int t : targets) {
            n += t >= 0 ? 1 : 0;
        }
        return n;
    }
}
