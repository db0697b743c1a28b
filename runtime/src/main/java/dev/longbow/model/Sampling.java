package dev.longbow.model;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * How the next token is chosen from the logits: greedily (temperature 0), or drawn from the
 * softmax at {@code temperature} restricted to the smallest set of most likely tokens whose
 * probability reaches {@code topP} (nucleus sampling, Holtzman et al. 2019).
 */
public record Sampling(double temperature, double topP) {
    /** Always the most likely token. */
    public static final Sampling GREEDY = new Sampling(0, 1);

    /** Refuses a negative or infinite temperature and a top-p outside (0, 1]. */
    public Sampling {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature " + temperature + " must be 0 (greedy) or positive (e.g. --temperature 0.8)");
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p " + topP + " must lie in (0, 1] (e.g. --top-p 0.9)");
        }
    }

    /** The chosen token. */
    public int pick(float[] logits, SplittableRandom random) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        if (temperature == 0) {
            return best;
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp((logits[i] - logits[best]) / temperature);
            sum += p[i];
        }
        Integer[] order = new Integer[p.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
        double mass = 0;
        int keep = 0;
        while (keep < order.length && (keep == 0 || mass < topP * sum)) {
            mass += p[order[keep++]];
        }
        double u = random.nextDouble() * mass;
        for (int i = 0; i < keep; i++) {
            u -= p[order[i]];
            if (u <= 0) {
                return order[i];
            }
        }
        return order[keep - 1];
    }
}
