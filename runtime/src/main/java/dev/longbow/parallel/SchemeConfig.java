package dev.longbow.parallel;

import java.util.List;

/**
 * Which scheme to run and its options. Options a scheme does not use are ignored. Build with the
 * factory methods, or the canonical constructor from a command line, then {@link #validate} it:
 * every configuration that cannot run is refused there, before any work or communication.
 *
 * @param scheme        "ulysses", "ring", "wallfacer", "fpdt" or "hybrid"
 * @param teamSize      WallFacer's C: 1 <= C, C^2 divides the ranks (C = 1 is plain Ring)
 * @param chunkSize     FPDT's tokens per rank per chunk; divides the local sequence
 * @param ulyssesDegree Hybrid's Ulysses group size U (ring across P / U groups)
 * @param arrangement   WallFacer: which dimension has adjacent ranks, i.e. sits on the fast links
 */
public record SchemeConfig(String scheme, boolean causal, int teamSize, int chunkSize, int ulyssesDegree,
                           Arrangement arrangement) {

    public static final List<String> SCHEMES = List.of("ulysses", "ring", "wallfacer", "fpdt", "hybrid");

    /** WallFacer's communication arrangement: whose members get consecutive ranks (the same node). */
    public enum Arrangement {
        /** Teams of C consecutive ranks: the team all-gathers and merges run on the fast links. */
        TEAMS_ADJACENT,
        /** Sub-rings of P/C^2 consecutive ranks: the ring steps run on the fast links. */
        RINGS_ADJACENT
    }

    public static SchemeConfig ulysses(boolean causal) {
        return new SchemeConfig("ulysses", causal, 1, 0, 0, Arrangement.TEAMS_ADJACENT);
    }

    public static SchemeConfig ring(boolean causal) {
        return new SchemeConfig("ring", causal, 1, 0, 0, Arrangement.TEAMS_ADJACENT);
    }

    public static SchemeConfig wallFacer(boolean causal, int teamSize, Arrangement arrangement) {
        return new SchemeConfig("wallfacer", causal, teamSize, 0, 0, arrangement);
    }

    public static SchemeConfig fpdt(boolean causal, int chunkSize) {
        return new SchemeConfig("fpdt", causal, 1, chunkSize, 0, Arrangement.TEAMS_ADJACENT);
    }

    public static SchemeConfig hybrid(boolean causal, int ulyssesDegree) {
        return new SchemeConfig("hybrid", causal, 1, 0, ulyssesDegree, Arrangement.TEAMS_ADJACENT);
    }

    /** Throws {@link IllegalArgumentException} naming the value and the limit if this cannot run on {@code ranks} ranks. */
    public void validate(int ranks, AttentionShape shape) {
        if (!SCHEMES.contains(scheme)) {
            fail("unknown scheme '" + scheme + "'; known: " + SCHEMES);
        }
        if (ranks < 1) {
            fail("ranks " + ranks + " must be at least 1");
        }
        if (shape.seqLen() < 1 || shape.heads() < 1 || shape.kvHeads() < 1 || shape.headDim() < 1) {
            fail("every extent of " + shape + " must be positive");
        }
        if (!shape.dtype().isFloatingPoint()) {
            fail("attention dtype " + shape.dtype() + " is not a floating-point type");
        }
        if (shape.headDim() > 256) {
            fail("head dim " + shape.headDim() + " exceeds 256");
        }
        if (shape.heads() % shape.kvHeads() != 0) {
            fail("heads " + shape.heads() + " not divisible by kv heads " + shape.kvHeads() + " (GQA needs Hq % Hkv == 0)");
        }
        if (shape.seqLen() % ranks != 0) {
            fail("sequence length " + shape.seqLen() + " not divisible by ranks " + ranks);
        }
        switch (scheme) {
            case "ulysses" -> requireHeadsSplit("Ulysses", shape, ranks, ranks);
            case "ring" -> requireZigzag("Ring", shape.seqLen(), ranks);
            case "wallfacer" -> validateWallFacer(ranks, shape);
            case "fpdt" -> validateFpdt(ranks, shape);
            case "hybrid" -> validateHybrid(ranks, shape);
            default -> throw new AssertionError(scheme);
        }
    }

    /** Which global positions each rank's shard holds under this scheme. Call after {@link #validate}. */
    public SequenceLayout layout(int ranks) {
        return switch (scheme) {
            case "ulysses" -> SequenceLayout.CONTIGUOUS;
            case "ring" -> SequenceLayout.ZIGZAG;
            case "wallfacer" -> WallFacer.layout(teamSize, arrangement);
            case "fpdt" -> SequenceLayout.strided(chunkSize);
            case "hybrid" -> Hybrid.layout(ulyssesDegree);
            default -> throw new IllegalArgumentException("unknown scheme '" + scheme + "'; known: " + SCHEMES);
        };
    }

    private void validateWallFacer(int ranks, AttentionShape shape) {
        int c = teamSize;
        if (c < 1) {
            fail("WallFacer team size " + c + " must be at least 1");
        }
        if (ranks % c != 0) {
            fail("WallFacer team size " + c + " does not divide ranks " + ranks);
        }
        if ((long) c * c > ranks) {
            fail("WallFacer team size " + c + " exceeds sqrt(ranks " + ranks + ") (needs C <= sqrt(P))");
        }
        if (ranks % (c * c) != 0) {
            fail("WallFacer team size " + c + ": ranks " + ranks + " not divisible by C^2 = " + c * c
                    + " (the P/C^2 sub-rings must have whole length)");
        }
        if (arrangement == null) {
            fail("WallFacer needs an arrangement: " + List.of(Arrangement.values()));
        }
        requireZigzag("WallFacer (teams of " + c + ")", shape.seqLen(), ranks / c);
    }

    private void validateFpdt(int ranks, AttentionShape shape) {
        requireHeadsSplit("FPDT", shape, ranks, ranks);
        long local = shape.localLen(ranks);
        if (chunkSize < 1) {
            fail("FPDT chunk size " + chunkSize + " must be at least 1 token per rank");
        }
        if (local % chunkSize != 0) {
            fail("FPDT chunk size " + chunkSize + " does not divide the local sequence " + local
                    + " (sequence " + shape.seqLen() + " / ranks " + ranks + ")");
        }
    }

    private void validateHybrid(int ranks, AttentionShape shape) {
        int u = ulyssesDegree;
        if (u < 1 || ranks % u != 0) {
            fail("Hybrid Ulysses degree " + u + " must be at least 1 and divide ranks " + ranks);
        }
        requireHeadsSplit("Hybrid's Ulysses groups", shape, u, ranks);
        requireZigzag("Hybrid's ring of " + ranks / u + " groups", shape.seqLen(), ranks / u);
    }

    /** Ulysses splits heads over {@code degree} ranks; KV heads may be replicated up to the degree. */
    private static void requireHeadsSplit(String who, AttentionShape shape, int degree, int ranks) {
        if (shape.heads() % degree != 0) {
            fail("heads " + shape.heads() + " not divisible by " + (degree == ranks ? "ranks " : "Ulysses degree ") + degree
                    + " (" + who + " needs Hq % " + (degree == ranks ? "P" : "U") + " == 0; use hybrid or wallfacer)");
        }
        int kv = shape.kvHeads();
        if (kv % degree != 0 && !(kv < degree && degree % kv == 0)) {
            fail("kv heads " + kv + " cannot be split over " + degree + " ranks (" + who
                    + " needs Hkv % " + degree + " == 0, or Hkv < " + degree + " dividing it so KV heads can be replicated)");
        }
    }

    private static void requireZigzag(String who, long seqLen, int units) {
        if (seqLen % (2L * units) != 0) {
            fail("sequence length " + seqLen + " cannot be cut into 2 x " + units + " = " + 2L * units
                    + " equal zigzag chunks (" + who + " needs S % " + 2L * units + " == 0)");
        }
    }

    private static void fail(String message) {
        throw new IllegalArgumentException(message);
    }
}
