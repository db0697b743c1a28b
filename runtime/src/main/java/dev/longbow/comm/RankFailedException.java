package dev.longbow.comm;

/** A rank of a group threw; the cause is what it threw. */
public final class RankFailedException extends RuntimeException {
    private final int rank;

    /**
     * Rank {@code rank} of {@code ranks} threw {@code cause}.
     *
     * @param rank  the rank that failed first
     * @param ranks the ranks of the launch
     * @param cause what it threw
     */
    public RankFailedException(int rank, int ranks, Throwable cause) {
        super("rank " + rank + " of " + ranks + " failed: " + cause, cause);
        this.rank = rank;
    }

    /**
     * The rank that failed first.
     *
     * @return its rank
     */
    public int rank() {
        return rank;
    }
}
