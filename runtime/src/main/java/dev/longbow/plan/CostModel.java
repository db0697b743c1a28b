package dev.longbow.plan;

import dev.longbow.parallel.AttentionShape;
import dev.longbow.parallel.CallSchedule;

/**
 * Predicts one training step of a {@link Run} of {@code model} on {@code cluster} under a
 * {@link Stack}, per GPU. A sequence is, for each layer, a forward pass, its recomputation in
 * backward when the run recomputes, and the backward pass, plus the output head; each group takes
 * its sequences one after another, then the stack synchronises gradients and updates.
 *
 * <p>Matrix products take their FLOPs over the achieved matmul throughput; the block's other
 * operations (norms, rotary, residual adds, the MLP's activation) their bytes over the achieved
 * memory bandwidth; attention is the
 * scheme's own {@link CallSchedule} priced by {@link SchedulePricer}; the stack's per-layer weight
 * traffic hides under the layer's compute only in the time the links it shares with the attention
 * are free, so no step moves its bytes faster than its links carry them.
 */
public final class CostModel {
    private final ModelShape model;
    private final boolean causal;
    private final ClusterSpec cluster;
    private final Stack stack;

    public CostModel(ModelShape model, boolean causal, ClusterSpec cluster, Stack stack) {
        this.model = model;
        this.causal = causal;
        this.cluster = cluster;
        this.stack = stack;
    }

    /** The attention every layer of {@code run} computes. */
    AttentionShape attentionShape(Run run) {
        return new AttentionShape(run.seqLen(), model.heads(), model.kvHeads(), model.headDim(), run.precision().compute(), causal);
    }

    public Estimate estimate(Run run) {
        if (run.ranks() != cluster.ranks()) {
            return Estimate.infeasible(run, "uses " + run.ranks() + " of the cluster's " + cluster.ranks() + " GPUs", null);
        }
        String refusal = stack.refusal(run, model, cluster);
        if (refusal != null) {
            return Estimate.infeasible(run, refusal, null);
        }
        CallSchedule schedule;
        try {
            schedule = run.scheme().schedule(run.sequenceParallel(), attentionShape(run));
        } catch (IllegalArgumentException e) {
            return Estimate.infeasible(run, e.getMessage(), null);
        }
        Memory memory = stack.memory(run, model, schedule, cluster);
        if (memory.gpu() > cluster.gpuMemory()) {
            return Estimate.infeasible(run, String.format("out of memory: needs %.1f GiB of %.1f GiB per GPU", memory.gpu() / ClusterSpec.GIB,
                    cluster.gpuMemory() / ClusterSpec.GIB), memory);
        }
        if (memory.hostPerNode() > cluster.hostMemory()) {
            return Estimate.infeasible(run, String.format("out of host memory: needs %.0f GiB of %.0f GiB per node",
                    memory.hostPerNode() / ClusterSpec.GIB, cluster.hostMemory() / ClusterSpec.GIB), memory);
        }
        SchedulePricer.Priced attention = new SchedulePricer(cluster).price(schedule);
        double tokens = (double) run.seqLen() / run.sequenceParallel();
        double matmul = tokens * model.layerMatmulFlopsPerToken() / cluster.matmulFlops();
        double elementwise = tokens * model.layerElementwiseElementsPerToken() * run.precision().compute().byteSize()
                / cluster.memoryBandwidth();
        int forwards = run.recompute() ? 2 : 1;
        PassCost forward = attention.forward().then(PassCost.compute(matmul + elementwise));
        PassCost layer = forward.times(forwards).then(attention.backward()).then(PassCost.compute(2 * (matmul + elementwise)));

        // The stack's traffic shares links with the attention's: it hides only in the time those links are free.
        PassCost traffic = stack.layerTraffic(run, model, cluster);
        double waits = 0;
        for (Link link : Link.values()) {
            if (traffic.busySeconds(link) > 0) {
                waits += Math.max(0, traffic.busySeconds(link) + layer.busySeconds(link) - layer.seconds());
            }
        }
        PassCost hidden = new PassCost(waits, waits, traffic.busySeconds(), traffic.bytes());
        double head = 3 * 2 * tokens * model.hidden() * model.vocab() / cluster.matmulFlops();
        PassCost sequence = layer.then(hidden).times(model.layers()).then(PassCost.compute(head));
        PassCost step = sequence.times(run.sequencesPerGroup()).then(stack.stepTraffic(run, model, cluster));
        double flops = run.batch() * FlopCount.MODEL.perSequence(model, run.seqLen(), causal, run.recompute());
        return new Estimate(run, null, step.seconds(), step.exposedSeconds(), step.bytes(), memory, flops, cluster.peakFlops());
    }

    public ModelShape model() {
        return model;
    }

    public ClusterSpec cluster() {
        return cluster;
    }

    public Stack stack() {
        return stack;
    }

    public boolean causal() {
        return causal;
    }
}
