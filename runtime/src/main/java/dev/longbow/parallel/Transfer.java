package dev.longbow.parallel;

import java.util.Arrays;

/**
 * One collective or copy a rank takes part in during an attention call, as data: what it does,
 * how many bytes, and among which ranks of the scheme (0 to P-1, placed as the scheme places
 * them). What it costs is for whoever knows the machine: whether the group spans nodes decides
 * its links.
 *
 * @param kind  the pattern of the transfer
 * @param bytes what {@code kind} measures: the rank's whole tensor for an all-to-all, one
 *              member's block for an all-gather or reduce-scatter, the block each member passes
 *              on for a ring step, the bytes copied for a host copy
 * @param group the ranks taking part, in ring order for a ring step (a host copy: the rank alone)
 */
public record Transfer(Kind kind, long bytes, int[] group) {

    /** The communication patterns the schemes use. */
    public enum Kind {
        /** Every member splits a tensor of {@code bytes} evenly over the group and sends each part to its owner. */
        ALL_TO_ALL,
        /** Every member's block of {@code bytes} goes to every other member (a ring of n-1 steps). */
        ALL_GATHER,
        /** Blocks of {@code bytes} summed into their owner (a ring of n-1 steps). */
        REDUCE_SCATTER,
        /** Every member passes {@code bytes} to the next member of the ring at once. */
        RING_STEP,
        /** {@code bytes} copied between the rank's device and its host. */
        HOST_COPY
    }

    /** Refuses negative bytes and an empty group. */
    public Transfer {
        if (bytes < 0 || group.length < 1) {
            throw new IllegalArgumentException(kind + " of " + bytes + " bytes among " + Arrays.toString(group)
                    + ": bytes must not be negative and the group must not be empty");
        }
        group = group.clone();
    }

    @Override
    public int[] group() {
        return group.clone();
    }

    /** Bytes this rank sends to other ranks: the parts of its tensor it does not keep. */
    public double bytesSent() {
        int n = group.length;
        return switch (kind) {
            case ALL_TO_ALL -> (double) bytes * (n - 1) / n;
            case ALL_GATHER, REDUCE_SCATTER -> (double) bytes * (n - 1);
            case RING_STEP -> n == 1 ? 0 : bytes;
            case HOST_COPY -> 0;
        };
    }

    /** The ranks {@code first, first + stride, ...}, {@code count} of them. */
    static int[] strided(int first, int count, int stride) {
        int[] g = new int[count];
        for (int i = 0; i < count; i++) {
            g[i] = first + i * stride;
        }
        return g;
    }

    static Transfer allToAll(long bytes, int[] group) {
        return new Transfer(Kind.ALL_TO_ALL, bytes, group);
    }

    static Transfer allGather(long bytes, int[] group) {
        return new Transfer(Kind.ALL_GATHER, bytes, group);
    }

    static Transfer reduceScatter(long bytes, int[] group) {
        return new Transfer(Kind.REDUCE_SCATTER, bytes, group);
    }

    static Transfer ringStep(long bytes, int[] ring) {
        return new Transfer(Kind.RING_STEP, bytes, ring);
    }

    static Transfer hostCopy(long bytes) {
        return new Transfer(Kind.HOST_COPY, bytes, new int[] {0});
    }
}
