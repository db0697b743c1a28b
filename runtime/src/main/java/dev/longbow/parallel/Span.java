package dev.longbow.parallel;

import java.util.List;

/**
 * {@code length} consecutive rows of a buffer, starting at {@code row}, that hold the tokens at
 * global positions {@code [start, start + length)}. A rank's shard, a team's gathered shard or a
 * travelling K/V block is a list of spans; causal masks follow the positions.
 */
record Span(long row, long start, long length) {

    long end() {
        return start + length;
    }

    /** The one span of a buffer holding positions {@code [start, start + length)} in order. */
    static List<Span> contiguous(long start, long length) {
        return List.of(new Span(0, start, length));
    }

    /**
     * The buffer of zigzag unit {@code u} of {@code units}: the sequence cut into 2 x units
     * chunks, unit u holds chunk u then chunk 2 units - 1 - u.
     */
    static List<Span> zigzag(int u, int units, long seqLen) {
        long chunk = seqLen / (2L * units);
        return List.of(new Span(0, u * chunk, chunk), new Span(chunk, (2L * units - 1 - u) * chunk, chunk));
    }
}
