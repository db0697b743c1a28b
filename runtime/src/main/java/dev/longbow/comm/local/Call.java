package dev.longbow.comm.local;

import dev.longbow.comm.Meetings;

/**
 * One rank's collective call, as the ranks of a group compare it when they meet: the how-many-th
 * collective of this rank on the group, its kind, and what must agree across ranks (dtype and
 * sizes). {@code detail} describes the arguments for messages.
 */
record Call(long ordinal, String kind, String signature, String detail) implements Meetings.Call<Call> {

    /** Whether two ranks called the same collective at the same point. */
    @Override
    public boolean sameAs(Call other) {
        return ordinal == other.ordinal && kind.equals(other.kind) && signature.equals(other.signature);
    }

    @Override
    public String toString() {
        return kind + " #" + ordinal + (detail.isEmpty() ? "" : " (" + detail + ")");
    }
}
