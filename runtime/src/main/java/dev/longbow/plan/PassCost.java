package dev.longbow.plan;

import java.util.EnumMap;
import java.util.Map;

/**
 * One priced pass (an attention call's forward or backward, or anything built of steps): its
 * time, the part of it spent waiting on transfers that no compute hid, and per link how long
 * its transfers kept it busy and how many bytes they moved over it (other traffic on that link,
 * ZeRO-3's, cannot use it meanwhile).
 */
public record PassCost(double seconds, double exposedSeconds, Map<Link, Double> busySeconds, Map<Link, Double> bytes) {

    public PassCost {
        busySeconds = Map.copyOf(busySeconds);
        bytes = Map.copyOf(bytes);
    }

    /** Nothing: no time, no transfers. */
    public static final PassCost NONE = new PassCost(0, 0, Map.of(), Map.of());

    /** Compute alone. */
    static PassCost compute(double seconds) {
        return new PassCost(seconds, 0, Map.of(), Map.of());
    }

    public double busySeconds(Link link) {
        return busySeconds.getOrDefault(link, 0.0);
    }

    public double bytes(Link link) {
        return bytes.getOrDefault(link, 0.0);
    }

    /** Bytes this rank sent to other ranks, over the network and NVLink. */
    public double bytesSent() {
        return bytes(Link.NETWORK) + bytes(Link.NVLINK);
    }

    /** This pass, then {@code next}. */
    PassCost then(PassCost next) {
        return new PassCost(seconds + next.seconds, exposedSeconds + next.exposedSeconds, sum(busySeconds, next.busySeconds, 1),
                sum(bytes, next.bytes, 1));
    }

    /** This pass {@code n} times in a row. */
    PassCost times(int n) {
        return new PassCost(n * seconds, n * exposedSeconds, sum(Map.of(), busySeconds, n), sum(Map.of(), bytes, n));
    }

    private static Map<Link, Double> sum(Map<Link, Double> a, Map<Link, Double> b, int n) {
        Map<Link, Double> s = new EnumMap<>(Link.class);
        s.putAll(a);
        b.forEach((link, v) -> s.merge(link, n * v, Double::sum));
        return s;
    }
}
