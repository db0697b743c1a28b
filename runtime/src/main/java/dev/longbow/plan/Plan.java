package dev.longbow.plan;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Runs ranked for a decision. The feasible ones within {@code tieBand} of the fastest are a tie:
 * the model cannot tell them apart, so among them fewer bytes on the slowest link wins (the
 * network, then NVLink, then the host link: what another workload on the machine, or a slower
 * link than assumed, would hurt first). Then the other feasible runs, fastest first; then the
 * infeasible ones with their reasons.
 *
 * @param ranked  every run, in that order
 * @param tied    how many of the first runs are the tie for the best (0 when none is feasible)
 * @param tieBand the relative step-time difference that counts as a tie
 */
public record Plan(List<Estimate> ranked, int tied, double tieBand) {

    /**
     * The model's error, as a fraction of the step time: runs this close are a tie. The median
     * error over the calibration's held-out steps (bench/planner/README.md), rounded up to a whole
     * percent; CalibrationTest keeps the two together.
     */
    public static final double TIE_BAND = 0.15;

    public Plan {
        ranked = List.copyOf(ranked);
    }

    static Plan rank(List<Estimate> estimates, double band) {
        List<Estimate> feasible = new ArrayList<>(estimates.stream().filter(Estimate::feasible)
                .sorted(Comparator.comparingDouble(Estimate::stepSeconds)).toList());
        List<Estimate> ranked = new ArrayList<>();
        int tied = 0;
        if (!feasible.isEmpty()) {
            double best = feasible.getFirst().stepSeconds();
            List<Estimate> tie = new ArrayList<>(feasible.stream().filter(e -> e.stepSeconds() <= best * (1 + band)).toList());
            tie.sort(Comparator.comparingDouble((Estimate e) -> e.bytes(Link.NETWORK)).thenComparingDouble(e -> e.bytes(Link.NVLINK))
                    .thenComparingDouble(e -> e.bytes(Link.HOST)).thenComparingDouble(Estimate::stepSeconds));
            ranked.addAll(tie);
            tied = tie.size();
            feasible.removeAll(tie);
            ranked.addAll(feasible);
        }
        ranked.addAll(estimates.stream().filter(e -> !e.feasible()).toList());
        return new Plan(ranked, tied, band);
    }

    /** The answer: the first of the tie, or null when nothing fits. */
    public Estimate answer() {
        return tied == 0 ? null : ranked.getFirst();
    }

    /** The fastest feasible run, or null. */
    public Estimate fastest() {
        return ranked.stream().limit(tied).min(Comparator.comparingDouble(Estimate::stepSeconds)).orElse(null);
    }

    public boolean nothingFits() {
        return tied == 0;
    }
}
