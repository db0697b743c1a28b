package dev.longbow.samples;

import dev.longbow.backend.Backends;
import dev.longbow.comm.CommunicatorChoice;
import dev.longbow.parallel.AttentionShape;
import dev.longbow.parallel.SchemeConfig;
import dev.longbow.parallel.SchemeConfig.Arrangement;
import dev.longbow.tensor.DType;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The command line every scheme sample shares: {@code --name value} pairs, defaults sized for a
 * laptop CPU. Scheme options left out get a default that is valid for the rank count.
 */
record SampleOptions(String scheme, int ranks, long seqLen, int heads, int kvHeads, int headDim, boolean causal,
                     String backend, CommunicatorChoice communicator, DType dtype, int teamSize, Arrangement arrangement, int chunkSize,
                     int ulyssesDegree, int iterations, long seed, boolean check) {

    private static final Map<String, String> HELP = new LinkedHashMap<>();

    static {
        HELP.put("--ranks", "ranks (threads on the CPU, GPUs with --backend cuda, or threads sharing GPUs with --communicator device), default 4");
        HELP.put("--seq-len", "tokens in the whole sequence, default 2048");
        HELP.put("--heads", "query heads, default 8");
        HELP.put("--kv-heads", "key/value heads (GQA when fewer), default = heads");
        HELP.put("--head-dim", "head dimension, default 64");
        HELP.put("--causal", "true|false, default true");
        HELP.put("--backend", "cpu|cuda|tornado, default cpu");
        HELP.put("--communicator", "device: every rank on one GPU (see --gpus) instead of one GPU per rank (NCCL), default the backend's");
        HELP.put("--gpus", "with --communicator device: GPUs for the ranks, rank r on the (r mod n)-th, e.g. 0,1; default 0");
        HELP.put("--dtype", "f32|bf16, default bf16 on cuda (its flash kernels take bf16), f32 elsewhere");
        HELP.put("--team-size", "wallfacer: team size C (C^2 divides ranks), default 2 when 4 divides ranks, else 1");
        HELP.put("--arrangement", "wallfacer: teams|rings adjacent on the fast links, default teams");
        HELP.put("--chunk-size", "fpdt: tokens per rank per chunk, default a quarter of the local sequence");
        HELP.put("--ulysses-degree", "hybrid: Ulysses group size U (ring over ranks/U groups), default 2");
        HELP.put("--iterations", "timed forward+backward passes after one warm-up, default 3");
        HELP.put("--seed", "input seed, default from the clock (printed)");
        HELP.put("--check", "true|false: compare with single-device attention, default true");
    }

    static String usage(String scheme) {
        StringBuilder b = new StringBuilder("usage: " + scheme + " sample [options]\n");
        HELP.forEach((k, v) -> b.append(String.format(Locale.ROOT, "  %-18s %s%n", k, v)));
        return b.toString();
    }

    static SampleOptions parse(String scheme, String[] args) {
        Map<String, String> given = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!HELP.containsKey(args[i])) {
                throw new IllegalArgumentException("unknown option '" + args[i] + "'; --help lists the options of the " + scheme
                        + " sample");
            }
            if (i + 1 == args.length) {
                throw new IllegalArgumentException("option " + args[i] + " needs a value; --help lists the options of the " + scheme
                        + " sample");
            }
            given.put(args[i], args[++i]);
        }
        int ranks = integer(given, "--ranks", 4);
        long seqLen = integer(given, "--seq-len", 2048);
        int heads = integer(given, "--heads", 8);
        long local = seqLen / Math.max(ranks, 1);
        String backend = given.getOrDefault("--backend", "cpu");
        // The dtype the backend trains in: f32 where it can, else bf16 (cuda's flash kernels).
        String dtype = Backends.provider(backend).trainingDTypes().contains(DType.F32) ? "f32" : "bf16";
        return new SampleOptions(scheme, ranks, seqLen, heads,
                integer(given, "--kv-heads", heads),
                integer(given, "--head-dim", 64),
                bool(given, "--causal", true),
                backend,
                CommunicatorChoice.fromCommandLine(given.get("--communicator"), given.get("--gpus")),
                choice(given, "--dtype", dtype, DType.class, ""),
                integer(given, "--team-size", ranks % 4 == 0 ? 2 : 1),
                choice(given, "--arrangement", "teams", Arrangement.class, "_ADJACENT"),
                integer(given, "--chunk-size", (int) (local % 4 == 0 ? local / 4 : local)),
                integer(given, "--ulysses-degree", ranks % 2 == 0 ? 2 : 1),
                atLeast(integer(given, "--iterations", 3), 0, "--iterations"),
                given.containsKey("--seed") ? seed(given.get("--seed")) : System.nanoTime(),
                bool(given, "--check", true));
    }

    SchemeConfig config() {
        return new SchemeConfig(scheme, causal, teamSize, chunkSize, ulyssesDegree, arrangement);
    }

    AttentionShape shape() {
        return new AttentionShape(seqLen, heads, kvHeads, headDim, dtype);
    }

    private static int integer(Map<String, String> given, String name, int fallback) {
        String v = given.get(name);
        try {
            return v == null ? fallback : Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " needs an integer from " + Integer.MIN_VALUE + " to " + Integer.MAX_VALUE
                    + ", got '" + v + "'");
        }
    }

    private static int atLeast(int value, int least, String name) {
        if (value < least) {
            throw new IllegalArgumentException(name + " " + value + " must be at least " + least);
        }
        return value;
    }

    private static long seed(String v) {
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--seed needs a whole number from " + Long.MIN_VALUE + " to " + Long.MAX_VALUE
                    + ", got '" + v + "'");
        }
    }

    private static <E extends Enum<E>> E choice(Map<String, String> given, String name, String fallback, Class<E> type, String suffix) {
        String v = given.getOrDefault(name, fallback);
        try {
            return Enum.valueOf(type, v.toUpperCase(Locale.ROOT) + suffix);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + " '" + v + "' is not one of " + HELP.get(name));
        }
    }

    private static boolean bool(Map<String, String> given, String name, boolean fallback) {
        String v = given.get(name);
        if (v == null) {
            return fallback;
        }
        if (!v.equals("true") && !v.equals("false")) {
            throw new IllegalArgumentException(name + " needs true or false, got '" + v + "'");
        }
        return Boolean.parseBoolean(v);
    }
}
