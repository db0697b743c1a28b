package dev.longbow.samples;

import dev.longbow.backend.Backend;
import dev.longbow.parallel.AttentionBuffers;
import dev.longbow.parallel.AttentionShape;
import dev.longbow.parallel.SequenceLayout;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Attention tensors in host arrays, row-major with tokens outermost: the inputs q, k, v, dout or
 * the results out, lse, dq, dk, dv, of the whole sequence or of one rank's shard.
 */
record Shards(long rows, Map<String, float[]> tensors) {
    static final List<String> INPUTS = List.of("q", "k", "v", "dout");
    static final List<String> RESULTS = List.of("out", "lse", "dq", "dk", "dv");

    /** Elements per token of tensor {@code name}. */
    static int width(AttentionShape shape, String name) {
        return switch (name) {
            case "k", "v", "dk", "dv" -> shape.kvWidth();
            case "lse" -> shape.heads();
            default -> shape.queryWidth();
        };
    }

    static Shards random(AttentionShape shape, Random rng) {
        Map<String, float[]> t = new LinkedHashMap<>();
        for (String name : INPUTS) {
            float[] a = new float[Math.toIntExact(shape.seqLen() * width(shape, name))];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) rng.nextGaussian();
            }
            t.put(name, a);
        }
        return new Shards(shape.seqLen(), t);
    }

    float[] get(String name) {
        return tensors.get(name);
    }

    /** The rows rank {@code rank} holds under {@code layout}, in its local order. */
    Shards rowsOf(SequenceLayout layout, int rank, int ranks) {
        Map<String, float[]> t = new LinkedHashMap<>();
        tensors.forEach((name, all) -> t.put(name, layout.shard(all, rows, rank, ranks)));
        return new Shards(rows / ranks, t);
    }

    /** Writes the inputs into {@code buffers}, which hold as many rows. */
    void uploadInputs(Backend backend, AttentionBuffers buffers) {
        backend.upload(get("q"), buffers.q());
        backend.upload(get("k"), buffers.k());
        backend.upload(get("v"), buffers.v());
        backend.upload(get("dout"), buffers.dout());
    }

    /** The results {@code buffers} hold. */
    static Shards results(Backend backend, AttentionBuffers buffers) {
        Map<String, float[]> t = new LinkedHashMap<>();
        t.put("out", backend.download(buffers.out()));
        t.put("lse", backend.download(buffers.lse()));
        t.put("dq", backend.download(buffers.dq()));
        t.put("dk", backend.download(buffers.dk()));
        t.put("dv", backend.download(buffers.dv()));
        return new Shards(buffers.q().dim(0), t);
    }

    /** The parts' rows one after another, as one block. */
    static Shards concat(List<Shards> parts) {
        Map<String, float[]> t = new LinkedHashMap<>();
        for (String name : parts.getFirst().tensors().keySet()) {
            float[] all = new float[parts.stream().mapToInt(p -> p.get(name).length).sum()];
            int at = 0;
            for (Shards p : parts) {
                System.arraycopy(p.get(name), 0, all, at, p.get(name).length);
                at += p.get(name).length;
            }
            t.put(name, all);
        }
        return new Shards(parts.stream().mapToLong(Shards::rows).sum(), t);
    }

    /**
     * Prints, after {@code label}, each result's largest error relative to the expected tensor's
     * largest magnitude; true when all are within {@code limit}.
     */
    static boolean compare(String label, Shards actual, Shards expected, double limit) {
        StringBuilder line = new StringBuilder(label);
        boolean ok = true;
        for (String name : RESULTS) {
            float[] a = actual.get(name);
            float[] e = expected.get(name);
            double err = 0;
            double scale = 0;
            for (int i = 0; i < e.length; i++) {
                boolean bothInfinite = Float.isInfinite(a[i]) && a[i] == e[i];
                err = Math.max(err, bothInfinite ? 0 : Math.abs((double) a[i] - e[i]));
                scale = Math.max(scale, Float.isInfinite(e[i]) ? 0 : Math.abs(e[i]));
            }
            double relative = err / Math.max(scale, Double.MIN_NORMAL);
            ok &= relative <= limit;
            line.append(String.format(Locale.ROOT, " %s %.1e", name, relative));
        }
        System.out.println(line.append(String.format(Locale.ROOT, " (limit %.0e): %s", limit, ok ? "OK" : "FAILED")));
        return ok;
    }
}
