package dev.longbow.plan;

/**
 * Predicts one training step of {@code model} on a {@code seqLen}-token sequence spread over
 * every GPU of {@code cluster}, per rank. A step is, for each block, a forward pass, its
 * recomputation in backward (full activation checkpointing, as long-context training does) and the
 * backward pass, plus the output head; model states are ZeRO-3 sharded over all ranks.
 *
 * <p>Compute time is FLOPs over the achieved kernel throughput; communication follows
 * {@link Links}; a scheme overlaps what its algorithm overlaps (ring steps, FPDT's prefetch,
 * ZeRO-3's parameter gathering), the rest adds up.
 */
public final class CostModel {
    /** Output-head logits are computed and turned into gradients this many tokens at a time. */
    static final int LOSS_CHUNK_TOKENS = 4096;
    /** bf16 weights and gradients, fp32 master weights and two Adam moments. */
    static final double MODEL_STATE_BYTES_PER_PARAM = 16;

    private final ModelShape model;
    private final long seqLen;
    private final boolean causal;
    private final ClusterSpec cluster;
    private final Footprint footprint;
    private final Links links;

    public CostModel(ModelShape model, long seqLen, boolean causal, ClusterSpec cluster) {
        this(model, seqLen, causal, cluster, Footprint.LONGBOW);
    }

    public CostModel(ModelShape model, long seqLen, boolean causal, ClusterSpec cluster, Footprint footprint) {
        this.footprint = footprint;
        this.model = model;
        this.seqLen = seqLen;
        this.causal = causal;
        this.cluster = cluster;
        this.links = new Links(cluster);
    }

    public Estimate estimate(Setting setting) {
        if (setting.ranks() != cluster.ranks()) {
            return Estimate.infeasible(setting, "spans " + setting.ranks() + " ranks, the cluster has " + cluster.ranks());
        }
        Shard shard = new Shard(model, seqLen, cluster.ranks(), causal, cluster);
        try {
            return estimate(setting, shard, attention(setting, shard));
        } catch (Infeasible e) {
            return Estimate.infeasible(setting, e.getMessage());
        }
    }

    /** What the scheme's attention costs this rank per layer. */
    AttentionCost attention(Setting setting, Shard shard) {
        int p = cluster.ranks();
        return switch (setting.scheme()) {
            case ULYSSES -> UlyssesCost.of(shard, links, Links.strided(0, p, 1));
            case RING -> RingCost.of(shard, links, Links.strided(0, p, 1));
            case HYBRID -> HybridCost.of(shard, links, setting.ulysses(), setting.ring());
            case WALLFACER -> WallFacerCost.of(shard, links, setting.team(), setting.teamOnNvlink());
            case FPDT -> FpdtCost.of(shard, links, setting.chunks(), setting.offload());
        };
    }

    private Estimate estimate(Setting setting, Shard shard, AttentionCost attention) {
        int p = cluster.ranks();
        int b = cluster.activationBytes();
        double tokens = shard.tokens();
        double matmulFlops = tokens * model.layerMatmulFlopsPerToken();
        double matmul = matmulFlops / cluster.matmulFlops();
        double forward = matmul + attention.forward().seconds();
        double layerCompute = 2 * forward + 2 * matmul + attention.backward().seconds();

        // ZeRO-3 gathers each block's bf16 weights for forward, recompute and backward, and reduce-scatters its gradients.
        // It overlaps the layer's compute but shares its slowest links with the attention's transfers: it hides only in
        // the time those links are free.
        int[] everyone = Links.strided(0, p, 1);
        double layerWeights = 2 * model.layerParams();
        double zeroSeconds = 4 * links.ringCollective(layerWeights / p, everyone);
        double zeroBytes = p == 1 ? 0 : 4 * layerWeights * (p - 1) / p;
        double attentionOnZeroLinks = links.spansNodes(everyone)
                ? 2 * attention.forward().networkSeconds() + attention.backward().networkSeconds()
                : 2 * attention.forward().nvlinkSeconds() + attention.backward().nvlinkSeconds();
        double checkpoint = tokens * model.hidden() * b;
        double offloadSeconds = setting.offload() ? links.hostCopy(2 * checkpoint) : 0;
        double hidden = Math.max(0, zeroSeconds + attentionOnZeroLinks - layerCompute) + Math.max(0, offloadSeconds - layerCompute);

        double exposed = model.layers() * (2 * attention.forward().exposedSeconds() + attention.backward().exposedSeconds() + hidden);
        double head = 3 * 2 * tokens * model.hidden() * model.vocab();
        double step = model.layers() * (layerCompute + hidden) + head / cluster.matmulFlops();
        double bytesSent = model.layers() * (2 * attention.forward().bytesSent() + attention.backward().bytesSent() + zeroBytes);
        double modelFlops = model.layers() * (3 * matmulFlops + (1 + Shard.BACKWARD_ATTENTION_FACTOR) * shard.attentionFlops()) + head;

        double states = MODEL_STATE_BYTES_PER_PARAM * model.params() / p + 2 * layerWeights;
        double checkpoints = setting.offload() ? 0 : model.layers() * checkpoint;
        double working = attention.workingTokens() * (model.activationElementsPerToken() + 2.0 * model.ffn()) * b;
        double residual = tokens * model.hidden() * footprint.hiddenStateBytes();
        double logits = Math.min(tokens, LOSS_CHUNK_TOKENS) * model.vocab() * Shard.FP32;
        double gpu = states + checkpoints + working + residual + logits + attention.deviceBytes() + cluster.reserved();
        double host = cluster.gpusPerNode() * (attention.hostBytes() + (setting.offload() ? model.layers() * checkpoint : 0));

        String infeasible = null;
        if (gpu > cluster.gpuMemory()) {
            infeasible = String.format("out of memory: needs %.1f GiB of %.0f GiB per GPU", gpu / ClusterSpec.GIB, cluster.gpuMemory() / ClusterSpec.GIB);
        } else if (host > cluster.hostMemory()) {
            infeasible = String.format("out of host memory: needs %.0f GiB of %.0f GiB per node", host / ClusterSpec.GIB, cluster.hostMemory() / ClusterSpec.GIB);
        }
        return new Estimate(setting, infeasible, step, exposed, bytesSent, gpu, host, modelFlops);
    }

    /**
     * One attention layer's forward and backward alone, as the scheme samples time them, with the
     * buffer memory each call allocates (backward's with what forward saved for it).
     */
    public record AttentionPass(double forwardSeconds, double backwardSeconds, double forwardBytes, double backwardBytes,
                                double forwardDeviceBytes, double backwardDeviceBytes, double hostBytes) {
    }

    public AttentionPass attentionPass(Setting setting) {
        Shard shard = new Shard(model, seqLen, cluster.ranks(), causal, cluster);
        try {
            AttentionCost a = attention(setting, shard);
            return new AttentionPass(a.forward().seconds(), a.backward().seconds(), a.forward().bytesSent(), a.backward().bytesSent(),
                    a.forwardDeviceBytes(), a.backwardDeviceBytes(), a.hostBytes());
        } catch (Infeasible e) {
            throw new IllegalArgumentException(setting.scheme().label() + " (" + setting.knobs() + "): " + e.getMessage());
        }
    }

    public ClusterSpec cluster() {
        return cluster;
    }
}
