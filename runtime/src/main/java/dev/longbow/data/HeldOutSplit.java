package dev.longbow.data;

/**
 * A seeded split of a corpus by document: each document (a file, a zip entry, a part of a large
 * text file, a line of a JSONL file) is held out with probability {@code fraction}, decided by a
 * hash of the seed, its file name and its byte offset. Nothing is listed or read to decide, so the
 * split streams with the data, and the same seed gives the same split on every machine.
 *
 * @param heldOut which side this corpus reads: the held-out documents (evaluation) or the rest (training)
 */
public record HeldOutSplit(double fraction, long seed, boolean heldOut) {

    /** Refuses a fraction outside [0, 1). */
    public HeldOutSplit {
        if (!(fraction > 0 && fraction < 1)) {
            throw new IllegalArgumentException("held-out fraction " + fraction + " must lie strictly between 0 and 1 "
                    + "(e.g. --holdout 0.01 for 1% of the documents)");
        }
    }

    /** The other side of the same split. */
    public HeldOutSplit other() {
        return new HeldOutSplit(fraction, seed, !heldOut);
    }

    /** Whether the document of file {@code name} starting at byte {@code offset} belongs to this side. */
    public boolean keeps(String name, long offset) {
        long h = mix(seed ^ 0x9E3779B97F4A7C15L);
        h = mix(h ^ name.hashCode());
        h = mix(h ^ offset);
        boolean inHeldOut = (h >>> 11) * 0x1.0p-53 < fraction;
        return inHeldOut == heldOut;
    }

    /** SplitMix64's finalizer: every input bit moves every output bit. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    @Override
    public String toString() {
        return (heldOut ? "held-out " : "training ") + "side of a " + fraction + " split by document (seed " + seed + ")";
    }
}
