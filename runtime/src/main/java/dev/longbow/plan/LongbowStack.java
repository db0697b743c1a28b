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
 * updates every replica. Its memory is the trainer's own estimate ({@link MemoryEstimate}), the
 * one it checks each GPU's free memory against before it starts, so a run the planner says fits
 * is one the trainer starts.
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

    @Override
    public String name() {
        return "longbow";
    }

    @Override
    public String describe() {
        return "longbow train: every GPU keeps the whole model's fp32 weights, gradients and AdamW moments (and a bf16 copy), "
                + "all-reduces the fp32 gradients after the step's last sequence; memory as the trainer estimates it";
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

    @Override
    public PassCost layerTraffic(Run run, ModelShape model, ClusterSpec cluster) {
        return PassCost.NONE;
    }

    @Override
    public PassCost stepTraffic(Run run, ModelShape model, ClusterSpec cluster) {
        Links links = new Links(cluster);
        int[] everyone = Links.strided(0, run.ranks(), 1);
        double grads = 4 * model.params();
        double reduce = run.ranks() == 1 ? 0 : links.allReduce(grads, everyone);
        double update = UPDATE_BYTES_PER_PARAM * model.params() / cluster.memoryBandwidth();
        Link link = links.spansNodes(everyone) ? Link.NETWORK : Link.NVLINK;
        double sent = run.ranks() == 1 ? 0 : 2 * grads * (run.ranks() - 1) / run.ranks();
        return new PassCost(reduce + update, reduce, Map.of(link, reduce), Map.of(link, sent));
    }
}
