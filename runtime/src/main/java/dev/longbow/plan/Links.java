package dev.longbow.plan;

/**
 * How long communication takes between ranks placed on the cluster's nodes. A group is the array
 * of its members' global ranks; a link is intra-node (NVLink) when both ends share a node. The
 * models are the textbook ones NCCL follows: an all-to-all sends every block at once, so intra-
 * and inter-node parts proceed in parallel; all-gather and reduce-scatter are rings of n-1 steps
 * paced by their slowest hop; a ring step of point-to-point transfers likewise.
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

    private double latency(int[] group) {
        return spansNodes(group) ? cluster.networkLatency() : cluster.nvlinkLatency();
    }

    private double slowestBandwidth(int[] group) {
        return spansNodes(group) ? cluster.network() : cluster.nvlink();
    }

    /** Bytes one member sends in an all-to-all of a {@code localBytes} tensor: all blocks but its own. */
    static double allToAllBytes(double localBytes, int n) {
        return localBytes * (n - 1) / n;
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
