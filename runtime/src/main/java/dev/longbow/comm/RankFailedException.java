package dev.longbow.comm;

/** A rank of a group threw; the cause is what it threw. */
public final class RankFailedException extends RuntimeException {
    private final int rank;

    public RankFailedException(int rank, int ranks, Throwable cause) {
        super("rank " + rank + " of " + ranks + " failed: " + cause, cause);
        this.rank = rank;
    }

    public int rank() {
        return rank;
    }
}
