package dev.longbow.plan;

import dev.longbow.parallel.Transfer;

/**
 * How long a transfer takes between ranks placed on the cluster's nodes. A group is the array of
 * its members' global ranks; a link is intra-node (NVLink) when both ends share a node. The
 * models are the textbook ones NCCL follows: an all-to-all sends every block at once, so intra-
 * and inter-node parts proceed in parallel; all-gather and reduce-scatter are rings of n-1 steps
 * paced by their slowest hop; a ring step of point-to-point transfers likewise; a host copy rides
 * the GPU's own host link.
 */
final class Links {
    private final ClusterSpec cluster;

    Links(ClusterSpec cluster) {
        this.cluster = cluster;
    }

    private boolean sameNode(int a, int b) {
        return cluster.node(a) == cluster.node(b);
    }

    /** Whether the group's members sit on more than one node, so its transfers ride the network. */
    boolean spansNodes(int[] group) {
        for (int r : group) {
            if (!sameNode(r, group[0])) {
                return true;
            }
        }
        return false;
    }

    /** The link a transfer among {@code group} is paced by. */
    Link link(Transfer.Kind kind, int[] group) {
        if (kind == Transfer.Kind.HOST_COPY) {
            return Link.HOST;
        }
        return spansNodes(group) ? Link.NETWORK : Link.NVLINK;
    }

    /** Seconds of {@code transfer} among its group's ranks shifted by {@code offset} (the first rank of the group it serves). */
    double seconds(Transfer transfer, int offset) {
        int[] group = transfer.group();
        for (int i = 0; i < group.length; i++) {
            group[i] += offset;
        }
        return switch (transfer.kind()) {
            case ALL_TO_ALL -> allToAll(transfer.bytes(), group);
            case ALL_GATHER, REDUCE_SCATTER -> ringCollective(transfer.bytes(), group);
            case RING_STEP -> ringStep(transfer.bytes(), group);
            case HOST_COPY -> hostCopy(transfer.bytes());
        };
    }

    private double latency(int[] group) {
        return spansNodes(group) ? cluster.networkLatency() : cluster.nvlinkLatency();
    }

    private double slowestBandwidth(int[] group) {
        return spansNodes(group) ? cluster.network() : cluster.nvlink();
    }

    /** Seconds for an all-to-all in which every member holds {@code localBytes}, split evenly over the group. */
    double allToAll(double localBytes, int[] group) {
        int n = group.length;
        if (n == 1) {
            return 0;
        }
        int local = 0;
        for (int r : group) {
            local += sameNode(r, group[0]) ? 1 : 0;
        }
        double block = localBytes / n;
        double intra = block * (local - 1) / cluster.nvlink();
        double inter = block * (n - local) / cluster.network();
        return latency(group) + Math.max(intra, inter);
    }

    /** Seconds for a ring all-gather (or reduce-scatter) whose per-member block is {@code blockBytes}. */
    double ringCollective(double blockBytes, int[] group) {
        int n = group.length;
        return n == 1 ? 0 : (n - 1) * (latency(group) + blockBytes / slowestBandwidth(group));
    }

    /** Seconds for a ring all-reduce of {@code bytes} on every member: a reduce-scatter and an all-gather of 1/n each. */
    double allReduce(double bytes, int[] group) {
        return 2 * ringCollective(bytes / group.length, group);
    }

    /** Seconds for one step of a ring in which every member passes {@code bytes} to the next. */
    double ringStep(double bytes, int[] ring) {
        return ring.length == 1 ? 0 : latency(ring) + bytes / slowestBandwidth(ring);
    }

    /** Seconds to copy {@code bytes} between a GPU and its host. */
    double hostCopy(double bytes) {
        return bytes / cluster.hostLink();
    }

    /** Members {@code first, first + stride, ...} ({@code count} of them). */
    static int[] strided(int first, int count, int stride) {
        int[] g = new int[count];
        for (int i = 0; i < count; i++) {
            g[i] = first + i * stride;
        }
        return g;
    }
}
