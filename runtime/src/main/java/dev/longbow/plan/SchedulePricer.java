package dev.longbow.plan;

import dev.longbow.parallel.AttentionCall;
import dev.longbow.parallel.CallSchedule;
import dev.longbow.parallel.Step;
import dev.longbow.parallel.Transfer;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Prices any scheme's {@link CallSchedule} on a cluster: each kernel call at the throughput its
 * shape achieves ({@link AttentionRates}), each transfer on the link its group rides
 * ({@link Links}), a step as long as the slower of its kernels and its busiest link. So the planner
 * prices what a scheme does, whichever scheme it is: the scheme says what it does, this says what
 * that costs.
 */
public final class SchedulePricer {
    /** Backward attention does 2.5x the forward's FLOPs (recomputing the scores, then dQ, dK, dV). */
    public static final double BACKWARD_ATTENTION_FACTOR = 2.5;

    private final ClusterSpec cluster;
    private final Links links;
    private final int offset;

    /** Prices a scheme whose ranks are the cluster's first ones. */
    public SchedulePricer(ClusterSpec cluster) {
        this(cluster, 0);
    }

    /** Prices a scheme whose rank r is the cluster's rank {@code offset + r}. */
    SchedulePricer(ClusterSpec cluster, int offset) {
        this.cluster = cluster;
        this.links = new Links(cluster);
        this.offset = offset;
    }

    /** The forward and backward pass of one attention call. */
    public record Priced(PassCost forward, PassCost backward) {
    }

    public Priced price(CallSchedule schedule) {
        return new Priced(pass(schedule.forward(), false), pass(schedule.backward(), true));
    }

    private PassCost pass(List<Step> steps, boolean backward) {
        PassCost pass = PassCost.NONE;
        for (Step step : steps) {
            pass = pass.then(step(step, backward).times(step.times()));
        }
        return pass;
    }

    private PassCost step(Step step, boolean backward) {
        double compute = 0;
        for (AttentionCall call : step.kernels()) {
            compute += backward
                    ? BACKWARD_ATTENTION_FACTOR * call.flops() / cluster.attentionRates().backward(call)
                    : call.flops() / cluster.attentionRates().forward(call);
        }
        Map<Link, Double> busy = new EnumMap<>(Link.class);
        Map<Link, Double> bytes = new EnumMap<>(Link.class);
        for (Transfer t : step.transfers()) {
            int[] group = t.group();
            for (int i = 0; i < group.length; i++) {
                group[i] += offset;
            }
            Link link = links.link(t.kind(), group);
            busy.merge(link, links.seconds(t, offset), Double::sum);
            bytes.merge(link, t.kind() == Transfer.Kind.HOST_COPY ? t.bytes() : t.bytesSent(), Double::sum);
        }
        double transfers = busy.values().stream().mapToDouble(Double::doubleValue).max().orElse(0);
        double seconds = Math.max(compute, transfers);
        return new PassCost(seconds, seconds - compute, busy, bytes);
    }
}
