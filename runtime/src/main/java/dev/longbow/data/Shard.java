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
        int seq = tokens.length;
        if (targets.length != seq) {
            throw new IllegalArgumentException(seq + " tokens but " + targets.length + " targets");
        }
        if (seq % ranks != 0) {
            throw new IllegalArgumentException("sequence length " + seq + " not divisible by ranks " + ranks);
        }
        int local = seq / ranks;
        int[] t = new int[local], y = new int[local], p = new int[local];
        for (int i = 0; i < local; i++) {
            long position = layout.globalPosition(rank, ranks, seq, i);
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
