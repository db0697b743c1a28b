package dev.longbow.plan;

/** The kinds of link a transfer rides: between nodes, inside a node, between a GPU and its host. */
public enum Link {
    /** Inter-node: the NICs and switches between nodes. */
    NETWORK,
    /** Intra-node GPU to GPU (NVLink). */
    NVLINK,
    /** A GPU and its host's memory (PCIe). */
    HOST
}
