package dev.longbow.plan;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The machines a plan is for. Ranks are placed node by node: rank r sits on node
 * {@code r / gpusPerNode}. Bandwidths are per GPU and per direction; throughputs are what the
 * kernels achieve (measured, or stated as assumed), not the data-sheet peak, which only MFU uses.
 *
 * @param gpuMemory       bytes of device memory per GPU
 * @param hostMemory      bytes of host memory per node, for what schemes and offload keep there
 * @param reserved        device bytes per GPU that training cannot use (driver context, NCCL
 *                        buffers, library workspaces, allocator slack)
 * @param nvlink          intra-node bandwidth, bytes/s
 * @param nvlinkLatency   seconds per intra-node message
 * @param network         inter-node bandwidth, bytes/s
 * @param networkLatency  seconds per inter-node message
 * @param hostLink        device-host copy bandwidth (PCIe), bytes/s
 * @param memoryBandwidth achieved device-memory bandwidth, bytes/s, for the optimizer's update
 * @param matmulFlops     achieved matmul throughput, FLOP/s
 * @param peakFlops       the data-sheet dense peak of the compute dtype, for MFU
 * @param attentionRates  the attention kernels' throughput by call shape
 * @param backend         the Longbow backend that trains on these machines: "cuda", or "cpu"
 */
public record ClusterSpec(String name, String backend, int nodes, int gpusPerNode, double gpuMemory, double hostMemory, double reserved,
                          double nvlink, double nvlinkLatency, double network, double networkLatency, double hostLink,
                          double memoryBandwidth, double matmulFlops, double peakFlops, AttentionRates attentionRates) {

    public static final double GIB = 1L << 30;
    private static final double GB = 1e9;
    private static final double TFLOPS = 1e12;
    private static final double US = 1e-6;
    /** {@link MatmulRate#H100_BF16} as {@link Calibration#fit} finds it (CalibrationTest keeps the two equal). */
    private static final double H100_MATMUL = 341 * TFLOPS;
    /** {@link MatmulRate#A100_BF16} as {@link Calibration#fit} finds it. */
    private static final double A100_MATMUL = 161 * TFLOPS;

    public ClusterSpec {
        Objects.requireNonNull(attentionRates, "attentionRates");
        Objects.requireNonNull(backend, "backend");
        if (nodes < 1 || gpusPerNode < 1) {
            throw new IllegalArgumentException("cluster " + name + ": " + nodes + " nodes of " + gpusPerNode + " GPUs");
        }
        for (double v : new double[] {gpuMemory, hostMemory, nvlink, network, hostLink, memoryBandwidth, matmulFlops, peakFlops}) {
            if (!(v > 0)) {
                throw new IllegalArgumentException("cluster " + name + ": memories, bandwidths and throughputs must be positive");
            }
        }
        if (!(reserved >= 0) || !(nvlinkLatency >= 0) || !(networkLatency >= 0)) {
            throw new IllegalArgumentException("cluster " + name + ": reserved memory and latencies must not be negative");
        }
    }

    /**
     * Published figures and this project's measurements: H100 SXM 80GB (989 TFLOP/s bf16 dense,
     * NVLink 4 at 450 GB/s each way, one 400 Gb/s NIC per GPU, attention measured by FlashBench,
     * 3.0 TB/s device copies measured); H200 (the H100's compute and links with 141 GB); A100 SXM
     * 80GB (312 TFLOP/s, NVLink 3 at 300 GB/s, one 200 Gb/s HDR NIC per GPU, FlashAttention-2 assumed
     * at 70% of the H100's measured rates: the FlashAttention-2 paper reports 50-73% of the A100's
     * peak). The matmul throughputs inside a training step are {@link Calibration}'s bf16 fits to
     * published PyTorch steps (the H100's on 500 W parts: a floor for 700 W ones), not the 798 TFLOP/s
     * cuBLAS reaches on large squares alone.
     */
    private static final Map<String, ClusterSpec> PRESETS = Map.of(
            "h100", new ClusterSpec("h100", "cuda", 1, 8, 79.6 * GIB, 2048 * GIB, 3 * GIB,
                    450 * GB, 5 * US, 50 * GB, 10 * US, 25 * GB, 3000 * GB, H100_MATMUL, 989 * TFLOPS, MeasuredRates.H100_LONGBOW),
            "h200", new ClusterSpec("h200", "cuda", 1, 8, 140 * GIB, 2048 * GIB, 3 * GIB,
                    450 * GB, 5 * US, 50 * GB, 10 * US, 25 * GB, 4000 * GB, H100_MATMUL, 989 * TFLOPS,
                    MeasuredRates.H100_LONGBOW.scaled(1, MeasuredRates.H100_LONGBOW.describe() + ", assumed equal on the H200")),
            "a100", new ClusterSpec("a100", "cuda", 1, 8, 80 * GIB, 1024 * GIB, 3 * GIB,
                    300 * GB, 5 * US, 25 * GB, 10 * US, 20 * GB, 1600 * GB, A100_MATMUL, 312 * TFLOPS, a100Flash(0.70)));

    /** FlashAttention-2 on an A100: the H100's measured FlashAttention-2 rates times {@code fraction}, which no A100 here measured. */
    public static AttentionRates a100Flash(double fraction) {
        return MeasuredRates.H100_FLASH2.scaled(fraction, String.format(Locale.ROOT,
                "attention assumed at %.0f%% of %s (no A100 measured here)", 100 * fraction, MeasuredRates.H100_FLASH2.source()));
    }

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
        return new ClusterSpec(name, backend, n, gpusPerNode, gpuMemory, hostMemory, reserved, nvlink, nvlinkLatency, network, networkLatency,
                hostLink, memoryBandwidth, matmulFlops, peakFlops, attentionRates);
    }

    public ClusterSpec withGpusPerNode(int g) {
        return new ClusterSpec(name, backend, nodes, g, gpuMemory, hostMemory, reserved, nvlink, nvlinkLatency, network, networkLatency,
                hostLink, memoryBandwidth, matmulFlops, peakFlops, attentionRates);
    }

    public ClusterSpec withMemory(double gpu, double host) {
        return new ClusterSpec(name, backend, nodes, gpusPerNode, gpu, host, reserved, nvlink, nvlinkLatency, network, networkLatency,
                hostLink, memoryBandwidth, matmulFlops, peakFlops, attentionRates);
    }

    public ClusterSpec withLinks(double nvlinkBandwidth, double nvlinkLat, double networkBandwidth, double networkLat, double host) {
        return new ClusterSpec(name, backend, nodes, gpusPerNode, gpuMemory, hostMemory, reserved, nvlinkBandwidth, nvlinkLat, networkBandwidth,
                networkLat, host, memoryBandwidth, matmulFlops, peakFlops, attentionRates);
    }

    public ClusterSpec withCompute(double matmul, AttentionRates rates) {
        return new ClusterSpec(name, backend, nodes, gpusPerNode, gpuMemory, hostMemory, reserved, nvlink, nvlinkLatency, network, networkLatency,
                hostLink, memoryBandwidth, matmul, peakFlops, rates);
    }

    /**
     * This machine's CPU backend: {@code ranks} threads on one host share its cores, so each gets
     * {@code 1/ranks} of the measured throughputs; "links" are memory copies between threads.
     * {@code rates} are the whole machine's with {@code ranks} callers issuing a call at once.
     */
    public static ClusterSpec cpu(int ranks, double memory, double copyBandwidth, double copyLatency, double matmul, AttentionRates rates) {
        return new ClusterSpec("cpu", "cpu", 1, ranks, memory / ranks, memory, 0, copyBandwidth, copyLatency, copyBandwidth, copyLatency,
                copyBandwidth, copyBandwidth, matmul / ranks, matmul / ranks, rates.dividedBy(ranks));
    }
}
