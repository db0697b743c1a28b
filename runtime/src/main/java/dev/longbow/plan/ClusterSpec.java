package dev.longbow.plan;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The machines a plan is for. Ranks are placed node by node: rank r sits on node
 * {@code r / gpusPerNode}. Bandwidths are per GPU and per direction; kernel throughputs are what
 * the kernels achieve (measure them with the benchmarks and pass them in), not the data-sheet peak.
 *
 * @param gpuMemory        bytes of device memory per GPU
 * @param hostMemory       bytes of host memory per node, for offloaded activations
 * @param reserved         device bytes per GPU that training cannot use (driver context, NCCL
 *                         buffers, allocator slack)
 * @param nvlink           intra-node bandwidth, bytes/s
 * @param nvlinkLatency    seconds per intra-node message
 * @param network          inter-node bandwidth, bytes/s
 * @param networkLatency   seconds per inter-node message
 * @param hostLink         device-host copy bandwidth (PCIe), bytes/s
 * @param matmulFlops      achieved matmul throughput, FLOP/s
 * @param attentionFlops   achieved flash-attention forward throughput, FLOP/s
 * @param attentionBackwardFlops achieved backward throughput, counting a backward pass as 2.5x
 *                         its forward's FLOPs
 * @param peakFlops        the data-sheet peak, for MFU
 * @param activationBytes  bytes per activation element: 2 for bf16 on a GPU, 4 for the CPU
 *                         backend's fp32
 * @param attentionRates   the attention throughputs by call shape; the two constants above
 *                         unless the kernels were measured shape by shape
 */
public record ClusterSpec(String name, int nodes, int gpusPerNode, double gpuMemory, double hostMemory, double reserved,
                          double nvlink, double nvlinkLatency, double network, double networkLatency, double hostLink,
                          double matmulFlops, double attentionFlops, double attentionBackwardFlops, double peakFlops, int activationBytes,
                          AttentionRates attentionRates) {

    public static final double GIB = 1L << 30;
    private static final double GB = 1e9;
    private static final double TFLOPS = 1e12;
    private static final double US = 1e-6;

    public ClusterSpec {
        Objects.requireNonNull(attentionRates, "attentionRates");
        if (nodes < 1 || gpusPerNode < 1) {
            throw new IllegalArgumentException("cluster " + name + ": " + nodes + " nodes of " + gpusPerNode + " GPUs");
        }
        for (double v : new double[] {gpuMemory, hostMemory, nvlink, network, hostLink, matmulFlops, attentionFlops, attentionBackwardFlops, peakFlops}) {
            if (!(v > 0)) {
                throw new IllegalArgumentException("cluster " + name + ": memories, bandwidths and throughputs must be positive");
            }
        }
    }

    /** A cluster whose attention kernels run at one forward and one backward rate whatever the call. */
    public ClusterSpec(String name, int nodes, int gpusPerNode, double gpuMemory, double hostMemory, double reserved,
                       double nvlink, double nvlinkLatency, double network, double networkLatency, double hostLink,
                       double matmulFlops, double attentionFlops, double attentionBackwardFlops, double peakFlops, int activationBytes) {
        this(name, nodes, gpusPerNode, gpuMemory, hostMemory, reserved, nvlink, nvlinkLatency, network, networkLatency, hostLink,
                matmulFlops, attentionFlops, attentionBackwardFlops, peakFlops, activationBytes,
                AttentionRates.constant(attentionFlops, attentionBackwardFlops));
    }

    /**
     * Published-typical figures, until the benchmarks of this project measure the machine at hand:
     * H100 SXM (989 TFLOP/s bf16 peak, NVLink 4 at 450 GB/s each way, eight 400 Gb/s NICs per
     * node), A100 80 GB (312 TFLOP/s, NVLink 3 at 300 GB/s, 200 Gb/s HDR per GPU).
     */
    private static final Map<String, ClusterSpec> PRESETS = Map.of(
            "h100", new ClusterSpec("h100", 1, 8, 80 * GIB, 2048 * GIB, 3 * GIB,
                    450 * GB, 5 * US, 50 * GB, 10 * US, 25 * GB, 600 * TFLOPS, 400 * TFLOPS, 350 * TFLOPS, 989 * TFLOPS, 2),
            "a100", new ClusterSpec("a100", 1, 8, 80 * GIB, 1024 * GIB, 3 * GIB,
                    300 * GB, 5 * US, 25 * GB, 10 * US, 20 * GB, 230 * TFLOPS, 180 * TFLOPS, 150 * TFLOPS, 312 * TFLOPS, 2));

    public static ClusterSpec preset(String name) {
        ClusterSpec c = PRESETS.get(name);
        if (c == null) {
            throw new IllegalArgumentException("unknown cluster '" + name + "'; presets: " + presetNames() + " (or describe it with options)");
        }
        return c;
    }

    public static List<String> presetNames() {
        return PRESETS.keySet().stream().sorted().toList();
    }

    public int ranks() {
        return nodes * gpusPerNode;
    }

    public int node(int rank) {
        return rank / gpusPerNode;
    }

    public ClusterSpec withNodes(int n) {
        return new ClusterSpec(name, n, gpusPerNode, gpuMemory, hostMemory, reserved, nvlink, nvlinkLatency, network,
                networkLatency, hostLink, matmulFlops, attentionFlops, attentionBackwardFlops, peakFlops, activationBytes, attentionRates);
    }

    public ClusterSpec withGpusPerNode(int g) {
        return new ClusterSpec(name, nodes, g, gpuMemory, hostMemory, reserved, nvlink, nvlinkLatency, network,
                networkLatency, hostLink, matmulFlops, attentionFlops, attentionBackwardFlops, peakFlops, activationBytes, attentionRates);
    }

    public ClusterSpec withMemory(double gpu, double host) {
        return new ClusterSpec(name, nodes, gpusPerNode, gpu, host, reserved, nvlink, nvlinkLatency, network,
                networkLatency, hostLink, matmulFlops, attentionFlops, attentionBackwardFlops, peakFlops, activationBytes, attentionRates);
    }

    public ClusterSpec withLinks(double nvlinkBandwidth, double nvlinkLat, double networkBandwidth, double networkLat) {
        return new ClusterSpec(name, nodes, gpusPerNode, gpuMemory, hostMemory, reserved, nvlinkBandwidth, nvlinkLat,
                networkBandwidth, networkLat, hostLink, matmulFlops, attentionFlops, attentionBackwardFlops, peakFlops, activationBytes, attentionRates);
    }

    public ClusterSpec withThroughput(double matmul, double attention, double attentionBackward) {
        return new ClusterSpec(name, nodes, gpusPerNode, gpuMemory, hostMemory, reserved, nvlink, nvlinkLatency, network,
                networkLatency, hostLink, matmul, attention, attentionBackward, peakFlops, activationBytes);
    }

    /**
     * This machine's CPU backend: {@code ranks} threads on one host share its cores, so each gets
     * {@code 1/ranks} of the measured throughputs; "links" are memory copies between threads.
     */
    public static ClusterSpec cpu(int ranks, double memory, double copyBandwidth, double copyLatency,
                                  double matmul, double attention, double attentionBackward) {
        return cpu(ranks, memory, copyBandwidth, copyLatency, matmul, attention, attentionBackward,
                AttentionRates.constant(attention, attentionBackward));
    }

    /**
     * As above, with the attention kernels' throughputs measured call shape by call shape
     * ({@code attention} and {@code attentionBackward} stay the headline figures): {@code rates}
     * are the whole machine's with {@code ranks} callers issuing a call of that shape at once.
     */
    public static ClusterSpec cpu(int ranks, double memory, double copyBandwidth, double copyLatency,
                                  double matmul, double attention, double attentionBackward, AttentionRates rates) {
        return new ClusterSpec("cpu", 1, ranks, memory / ranks, memory, 0, copyBandwidth, copyLatency, copyBandwidth,
                copyLatency, copyBandwidth, matmul / ranks, attention / ranks, attentionBackward / ranks,
                Math.max(attention, matmul) / ranks, 4, rates.dividedBy(ranks));
    }
}
