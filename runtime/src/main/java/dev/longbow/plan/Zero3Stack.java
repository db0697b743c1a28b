package dev.longbow.plan;

import dev.longbow.parallel.CallSchedule;
import java.util.EnumMap;
import java.util.Map;

/**
 * DeepSpeed with ZeRO-3, as the papers' runs trained: bf16 weights and gradients with fp32 master
 * weights and Adam moments (16 bytes a parameter), all sharded over every rank; each layer's
 * weights all-gathered for forward, recomputation and backward and its gradients reduce-scattered,
 * under the layer's compute on links it shares with the attention. Activations follow
 * {@code footprint}: what the implementation keeps as long as the whole shard. Not what
 * {@code longbow train} runs (no data parallelism there, and its own sharding, priced by
 * {@link LongbowStack}): the planner prices it to set its model beside the papers' numbers.
 *
 * @param footprint  how the implementation spends memory on shard-long tensors
 * @param microBatch sequences a GPU runs through a layer together (torchtitan's local batch): one
 *                   gather and one reduce-scatter per layer serve them all, and all their
 *                   activations are kept at once
 */
public record Zero3Stack(Footprint footprint, int microBatch) implements Stack {
    /** bf16 weights and gradients, fp32 master weights and two Adam moments. */
    static final double STATE_BYTES_PER_PARAM = 16;
    /** Output-head logits are computed and turned into gradients this many tokens at a time. */
    static final int LOSS_CHUNK_TOKENS = 4096;
    /** An Adam update of a shard: fp32 master weights, moments and gradients read and written, bf16 weights written. */
    static final double UPDATE_BYTES_PER_PARAM = 4 * 2 * 4 + 2;

    public Zero3Stack {
        if (microBatch < 1) {
            throw new IllegalArgumentException("a micro-batch of " + microBatch + " sequences");
        }
    }

    /** One sequence at a time, as the papers' long-sequence runs go. */
    public Zero3Stack(Footprint footprint) {
        this(footprint, 1);
    }

    /** DeepSpeed as the Ulysses and FPDT papers' Megatron-DeepSpeed runs keep it. */
    public static Zero3Stack deepSpeed() {
        return new Zero3Stack(Footprint.RESIDUAL_STREAM);
    }

    @Override
    public String name() {
        return "zero3";
    }

    @Override
    public String describe() {
        return "DeepSpeed ZeRO-3 (as the papers ran, with data parallelism): 16 bytes a parameter sharded over every GPU, "
                + "each layer's weights gathered and gradients reduce-scattered under its compute; " + footprint.hiddenStateBytes()
                + " bytes per element of a shard-long activation (" + footprint.name() + ")";
    }

    @Override
    public String refusal(Run run, ModelShape model, ClusterSpec cluster) {
        return null;
    }

    @Override
    public Memory memory(Run run, ModelShape model, CallSchedule schedule, ClusterSpec cluster) {
        int b = run.precision().compute().byteSize();
        double tokens = (double) run.seqLen() / run.sequenceParallel();
        double layerWeights = 2 * model.layerParams();
        // this rank's shard, and one layer's gathered weights in use with the next one's prefetched
        double states = STATE_BYTES_PER_PARAM * model.params() / run.ranks() + 2 * layerWeights;
        double checkpoint = tokens * model.hidden() * b;
        double kept = run.recompute() ? (run.offloadCheckpoints() ? 0 : model.layers() * checkpoint)
                : model.layers() * tokens * model.activationElementsPerToken() * b;
        kept *= microBatch;
        double working = microBatch * schedule.workingTokens() * (model.activationElementsPerToken() + 2.0 * model.ffn()) * b;
        double residual = microBatch * tokens * model.hidden() * footprint.hiddenStateBytes();
        double logits = Math.min(tokens, LOSS_CHUNK_TOKENS) * model.vocab() * 4.0;
        double attention = Math.max(schedule.forwardDeviceBytes(), schedule.backwardDeviceBytes());
        double host = cluster.gpusPerNode() * (schedule.hostBytes() + (run.offloadCheckpoints() ? model.layers() * checkpoint : 0));
        return new Memory(states, kept + working + residual + logits, attention, cluster.reserved(), host);
    }

    @Override
    public PassCost layerTraffic(Run run, ModelShape model, ClusterSpec cluster) {
        Links links = new Links(cluster);
        int n = run.ranks();
        int[] everyone = Links.strided(0, n, 1);
        double layerWeights = 2 * model.layerParams();
        int collectives = (run.recompute() ? 3 : 2) + 1;   // gathers for forward, recomputation, backward; one reduce-scatter
        // priced per sequence: a micro-batch's sequences share the layer's collectives
        double seconds = collectives * links.ringCollective(layerWeights / n, everyone) / microBatch;
        double sent = n == 1 ? 0 : collectives * layerWeights * (n - 1) / n / microBatch;
        Link link = links.spansNodes(everyone) ? Link.NETWORK : Link.NVLINK;
        Map<Link, Double> busy = new EnumMap<>(Map.of(link, seconds));
        Map<Link, Double> bytes = new EnumMap<>(Map.of(link, sent));
        if (run.offloadCheckpoints()) {
            // the layer's input goes to the host in forward and comes back for the recomputation
            double checkpoint = (double) run.seqLen() / run.sequenceParallel() * model.hidden() * run.precision().compute().byteSize();
            busy.put(Link.HOST, links.hostCopy(2 * checkpoint));
            bytes.put(Link.HOST, 2 * checkpoint);
        }
        return new PassCost(0, 0, busy, bytes);
    }

    @Override
    public PassCost stepTraffic(Run run, ModelShape model, ClusterSpec cluster) {
        return PassCost.compute(UPDATE_BYTES_PER_PARAM * model.params() / run.ranks() / cluster.memoryBandwidth());
    }
}
