package dev.longbow.parallel;

import dev.longbow.tensor.Tensor;
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

    /** This span's rows of {@code t}. */
    Tensor of(Tensor t) {
        return t.rows(row, length);
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

    /** Throws naming the fix unless the sequence cuts into 2 x {@code units} equal zigzag chunks. */
    static void requireZigzag(String who, long seqLen, int units) {
        if (seqLen % (2L * units) != 0) {
            throw new IllegalArgumentException("sequence length " + seqLen + " cannot be cut into 2 x " + units + " = " + 2L * units
                    + " equal zigzag chunks (" + who + " needs S % " + 2L * units + " == 0)");
        }
    }
}
