package dev.longbow.plan;

import dev.longbow.parallel.Fpdt;
import dev.longbow.parallel.Hybrid;
import dev.longbow.parallel.Ring;
import dev.longbow.parallel.Scheme;
import dev.longbow.parallel.Ulysses;
import dev.longbow.parallel.WallFacer;

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

    /** {@code scheme} on every rank of the cluster, activation checkpoints in host memory when {@code offload}. */
    public Estimate estimate(Scheme scheme, boolean offload) {
        Shard shard = new Shard(model, seqLen, cluster.ranks(), causal, cluster);
        try {
            return estimate(scheme, offload, shard, attention(scheme, offload, shard));
        } catch (Infeasible e) {
            return Estimate.infeasible(scheme, offload, cluster.ranks(), e.getMessage());
        }
    }

    /**
     * What the scheme's attention costs this rank per layer; {@code offload} keeps FPDT's K/V chunks
     * in host memory. The planner's one choice by scheme: pricing is the planner's knowledge, not
     * the scheme's, and the switch is exhaustive, so a new scheme does not compile until priced.
     */
    AttentionCost attention(Scheme scheme, boolean offload, Shard shard) {
        int[] everyone = Links.strided(0, cluster.ranks(), 1);
        return switch (scheme) {
            case Ulysses _ -> UlyssesCost.of(shard, links, everyone);
            case Ring _ -> RingCost.of(shard, links, everyone);
            case Hybrid h -> HybridCost.of(shard, links, h.ulyssesDegree());
            case WallFacer w -> WallFacerCost.of(shard, links, w.teamSize(), w.arrangement() == WallFacer.Arrangement.TEAMS_ADJACENT);
            case Fpdt f -> FpdtCost.of(shard, links, f.chunkLen(), offload);
        };
    }

    private Estimate estimate(Scheme scheme, boolean offload, Shard shard, AttentionCost attention) {
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
        double offloadSeconds = offload ? links.hostCopy(2 * checkpoint) : 0;
        double hidden = Math.max(0, zeroSeconds + attentionOnZeroLinks - layerCompute) + Math.max(0, offloadSeconds - layerCompute);

        double exposed = model.layers() * (2 * attention.forward().exposedSeconds() + attention.backward().exposedSeconds() + hidden);
        double head = 3 * 2 * tokens * model.hidden() * model.vocab();
        double step = model.layers() * (layerCompute + hidden) + head / cluster.matmulFlops();
        double bytesSent = model.layers() * (2 * attention.forward().bytesSent() + attention.backward().bytesSent() + zeroBytes);
        double modelFlops = model.layers() * (3 * matmulFlops + (1 + Shard.BACKWARD_ATTENTION_FACTOR) * shard.attentionFlops()) + head;

        double states = MODEL_STATE_BYTES_PER_PARAM * model.params() / p + 2 * layerWeights;
        double checkpoints = offload ? 0 : model.layers() * checkpoint;
        double working = attention.workingTokens() * (model.activationElementsPerToken() + 2.0 * model.ffn()) * b;
        double residual = tokens * model.hidden() * footprint.hiddenStateBytes();
        double logits = Math.min(tokens, LOSS_CHUNK_TOKENS) * model.vocab() * Shard.FP32;
        double gpu = states + checkpoints + working + residual + logits + attention.deviceBytes() + cluster.reserved();
        double host = cluster.gpusPerNode() * (attention.hostBytes() + (offload ? model.layers() * checkpoint : 0));

        String infeasible = null;
        if (gpu > cluster.gpuMemory()) {
            infeasible = String.format("out of memory: needs %.1f GiB of %.0f GiB per GPU", gpu / ClusterSpec.GIB, cluster.gpuMemory() / ClusterSpec.GIB);
        } else if (host > cluster.hostMemory()) {
            infeasible = String.format("out of host memory: needs %.0f GiB of %.0f GiB per node", host / ClusterSpec.GIB, cluster.hostMemory() / ClusterSpec.GIB);
        }
        return new Estimate(scheme, offload, p, infeasible, step, exposed, bytesSent, gpu, host, modelFlops);
    }

    /**
     * One attention layer's forward and backward alone, as the scheme samples time them (FPDT's K/V
     * chunks in host memory, where Longbow's FPDT keeps them), with the buffer memory each call
     * allocates (backward's with what forward saved for it).
     */
    public record AttentionPass(double forwardSeconds, double backwardSeconds, double forwardBytes, double backwardBytes,
                                double forwardDeviceBytes, double backwardDeviceBytes, double hostBytes) {
    }

    public AttentionPass attentionPass(Scheme scheme) {
        Shard shard = new Shard(model, seqLen, cluster.ranks(), causal, cluster);
        try {
            AttentionCost a = attention(scheme, true, shard);
            return new AttentionPass(a.forward().seconds(), a.backward().seconds(), a.forward().bytesSent(), a.backward().bytesSent(),
                    a.forwardDeviceBytes(), a.backwardDeviceBytes(), a.hostBytes());
        } catch (Infeasible e) {
            throw new IllegalArgumentException(scheme.name() + " (" + scheme.settings(cluster.ranks()) + "): " + e.getMessage());
        }
    }

    public ClusterSpec cluster() {
        return cluster;
    }
}
