package dev.longbow.plan;

import dev.longbow.backend.BackendProvider;
import dev.longbow.backend.Backends;
import dev.longbow.model.Precision;
import dev.longbow.parallel.CallSchedule;
import dev.longbow.train.MemoryEstimate;
import dev.longbow.train.OptimizerConfig;
import dev.longbow.train.TrainConfig;
import java.util.Map;

/**
 * {@code longbow train}: every rank keeps the whole model (fp32 weights, gradients and both AdamW
 * moments, and a bf16 copy of the weights in mixed precision), runs one sequence-parallel group
 * over all ranks, all-reduces the fp32 gradients once the step's last sequence is done and
 * updates every replica. With {@link Run#shardModelStates()} each rank keeps its shard of those
 * states instead (16 / ranks bytes a parameter, and unit-sized buffers) and moves each unit's
 * weights and gradients as it computes (see {@link #layerTraffic}). Its memory is the trainer's
 * own estimate ({@link MemoryEstimate}), the one it checks each GPU's free memory against before
 * it starts, so a run the planner says fits is one the trainer starts.
 */
public record LongbowStack() implements Stack {
    /** {@code longbow train}'s default {@code --logit-chunk}: rows of logits computed at once. */
    static final int LOGIT_CHUNK_ROWS = 256;
    /**
     * Device-memory bytes per parameter of one optimizer step: the fp32 weights, gradients and two
     * moments read and written (AdamW), the gradients read for their norm and zeroed, the bf16
     * copy written.
     */
    static final double UPDATE_BYTES_PER_PARAM = 4 * 2 + 4 + 2 * 4 * 2 + 4 + 4 + 2;
    /**
     * The same for a shard: no bf16 copy (the trainer converts each unit as it gathers it), the
     * rest over the ranks.
     */
    static final double SHARDED_UPDATE_BYTES_PER_PARAM = UPDATE_BYTES_PER_PARAM - 2;
    /**
     * Bytes a sharded unit puts on the wire per parameter and collective: the trainer gathers
     * fp32 weights (the norm kernels read fp32 gains; the matrices are converted to bf16 locally)
     * and reduce-scatters fp32 gradients.
     */
    static final double SHARDED_WIRE_BYTES_PER_PARAM = 4;

    @Override
    public String name() {
        return "longbow";
    }

    @Override
    public String describe() {
        return "longbow train: every GPU keeps the whole model's fp32 weights, gradients and AdamW moments (and a bf16 copy), "
                + "all-reduces the fp32 gradients after the step's last sequence; or, with --shard-model-states, its shard of them, "
                + "gathering each layer's fp32 weights before its forward and backward and reduce-scattering its gradients; memory "
                + "as the trainer estimates it";
    }

    @Override
    public String refusal(Run run, ModelShape model, ClusterSpec cluster) {
        if (run.dataParallel() != 1) {
            return "longbow train runs one sequence-parallel group over all its ranks (no data parallelism)";
        }
        if (run.offloadCheckpoints()) {
            return "longbow train keeps checkpoints on the GPU";
        }
        if (!model.trainable()) {
            return "longbow train builds Llama (SwiGLU) models; " + model.name() + " has a " + model.mlpMatrices() + "-matrix MLP";
        }
        if (run.seqLen() > TrainConfig.MAX_SEQ_LEN) {
            return "longbow train holds a sequence of at most 2^30 tokens in one process";
        }
        for (BackendProvider p : Backends.providers()) {
            if (p.name().equals(cluster.backend()) && !p.trainingDTypes().contains(run.precision().compute())) {
                return "the " + cluster.backend() + " backend trains in " + Precision.defaultFor(p.trainingDTypes()).label() + " only";
            }
        }
        return null;
    }

    /** The trainer's configuration of {@code run}: what its memory check and the printed command describe. */
    static TrainConfig trainConfig(Run run, ModelShape model, ClusterSpec cluster) {
        return new TrainConfig(model.toConfig(), run.scheme(), run.sequenceParallel(), Math.toIntExact(run.seqLen()), cluster.backend(), 1,
                run.batch(), OptimizerConfig.defaults(3e-3f, 5), 0, run.recompute(), LOGIT_CHUNK_ROWS, run.precision(),
                run.shardModelStates());
    }

    @Override
    public Memory memory(Run run, ModelShape model, CallSchedule schedule, ClusterSpec cluster) {
        MemoryEstimate m = MemoryEstimate.of(trainConfig(run, model, cluster));
        // the schemes that offload keep each layer's chunks in host memory until its backward: every layer's unless recomputed
        double host = (double) schedule.hostBytes() * (run.recompute() ? 1 : model.layers()) * cluster.gpusPerNode();
        return new Memory(m.modelStates(), m.activations(), m.attention(), cluster.reserved(), host);
    }

    /**
     * Sharded: a layer's fp32 weights gathered before its forward and again before its backward
     * (which its recomputation shares), and its fp32 gradients reduce-scattered after, under the
     * layer's compute on the links the attention uses too. Replicated: nothing.
     */
    @Override
    public PassCost layerTraffic(Run run, ModelShape model, ClusterSpec cluster) {
        return run.shardModelStates() ? unitTraffic(run, model.layerParams(), 3, cluster) : PassCost.NONE;
    }

    /**
     * Replicated: the fp32 gradients all-reduced, then the update of every parameter. Sharded: per
     * sequence the embedding and the tail moved as the layers are (the embedding gathered for the
     * lookup and, tied, for the head; the tail for the head; each's gradients reduce-scattered),
     * exposed since no layer's compute runs beside them, then the update of the rank's shard.
     */
    @Override
    public PassCost stepTraffic(Run run, ModelShape model, ClusterSpec cluster) {
        if (run.shardModelStates()) {
            double embedding = (double) model.vocab() * model.hidden();
            double tail = model.hidden() + (model.tied() ? 0 : embedding);
            PassCost units = unitTraffic(run, embedding, model.tied() ? 3 : 2, cluster).then(unitTraffic(run, tail, 2, cluster));
            double busy = units.busySeconds(Link.NETWORK) + units.busySeconds(Link.NVLINK);
            PassCost exposed = new PassCost(busy, busy, units.busySeconds(), units.bytes());
            double update = SHARDED_UPDATE_BYTES_PER_PARAM * model.params() / run.ranks() / cluster.memoryBandwidth();
            return exposed.times(run.sequencesPerGroup()).then(PassCost.compute(update));
        }
        Links links = new Links(cluster);
        int[] everyone = Links.strided(0, run.ranks(), 1);
        double grads = 4 * model.params();
        double reduce = run.ranks() == 1 ? 0 : links.allReduce(grads, everyone);
        double update = UPDATE_BYTES_PER_PARAM * model.params() / cluster.memoryBandwidth();
        Link link = links.spansNodes(everyone) ? Link.NETWORK : Link.NVLINK;
        double sent = run.ranks() == 1 ? 0 : 2 * grads * (run.ranks() - 1) / run.ranks();
        return new PassCost(reduce + update, reduce, Map.of(link, reduce), Map.of(link, sent));
    }

    /** {@code collectives} ring all-gathers or reduce-scatters of a unit of {@code params} fp32 parameters over every rank. */
    private static PassCost unitTraffic(Run run, double params, int collectives, ClusterSpec cluster) {
        Links links = new Links(cluster);
        int n = run.ranks();
        int[] everyone = Links.strided(0, n, 1);
        double unit = SHARDED_WIRE_BYTES_PER_PARAM * params;
        double seconds = collectives * links.ringCollective(unit / n, everyone);
        double sent = n == 1 ? 0 : collectives * unit * (n - 1) / n;
        Link link = links.spansNodes(everyone) ? Link.NETWORK : Link.NVLINK;
        return new PassCost(0, 0, Map.of(link, seconds), Map.of(link, sent));
    }
}
