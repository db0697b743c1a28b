package dev.longbow.parallel;

import dev.longbow.backend.Backend;
import dev.longbow.comm.Communicator;

/**
 * A sequence-parallel scheme with its settings: which one, and how it is set up. One record per
 * scheme, each in the scheme's own file beside its implementation; the record checks whether it
 * can run a shape on a number of ranks, says where each rank's tokens sit, and builds the rank's
 * attention. The trainer runs one, the planner answers with one, the command line makes one from
 * its name. A record holds only settings that make sense on their own (a team size of at least 1);
 * what depends on the ranks and the shape is checked by {@link #validate}.
 */
public sealed interface Scheme permits Ulysses, Ring, WallFacer, Fpdt, Hybrid {

    /** The scheme's name on the command line, in logs and in run folders: "ulysses", "ring", ... */
    String name();

    /**
     * Throws {@link IllegalArgumentException} naming the value, the limit and the fix if this
     * scheme cannot run attention of {@code shape} on {@code ranks} ranks: before any work or
     * communication.
     */
    void validate(int ranks, AttentionShape shape);

    /** Which global positions each rank's shard holds. Defined for the ranks and shapes {@link #validate} accepts. */
    SequenceLayout layout();

    /**
     * This rank's attention, on {@code backend} over the ranks of {@code comm}. A collective: every
     * rank calls it together. Validates, checks that {@code backend} can run the shape and that
     * every rank passes the same scheme and shape; every refusal is an
     * {@link IllegalArgumentException} thrown on every rank before any attention work.
     */
    SequenceParallelAttention attention(AttentionShape shape, Backend backend, Communicator comm);

    /**
     * What one rank does in one attention call of {@code shape} on {@code ranks} ranks, as data:
     * its kernel calls, transfers and host copies in order, which of them overlap, and the
     * buffers they need. Validates first, as {@link #validate} does. A planner prices it on a
     * machine; the schemes' tests check it against what a call measurably sends and allocates.
     */
    CallSchedule schedule(int ranks, AttentionShape shape);

    /** The settings on {@code ranks} ranks in words, for reports: "degree 8", "team size 2, sub-rings of 4, teams adjacent". */
    String settings(int ranks);

    /**
     * An upper bound of the attention buffers one rank holds in training: one call's work buffers
     * (a few times {@code shardBytes}, the bytes of the rank's q, k, v, out and lse) plus what
     * forward keeps for backward in each of {@code layersKept} layers awaiting their backward.
     */
    long bufferBound(long shardBytes, int layersKept);
}
