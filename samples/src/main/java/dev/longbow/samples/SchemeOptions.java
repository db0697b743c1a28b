package dev.longbow.samples;

import dev.longbow.parallel.Fpdt;
import dev.longbow.parallel.Hybrid;
import dev.longbow.parallel.Ring;
import dev.longbow.parallel.Scheme;
import dev.longbow.parallel.Ulysses;
import dev.longbow.parallel.WallFacer;
import dev.longbow.parallel.WallFacer.Arrangement;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The scheme's options, one block for {@code longbow train} and {@code longbow sample}: the same
 * names, defaults and descriptions in both. A scheme's name becomes its record here and nowhere
 * else ({@link #scheme}); past this point every part of Longbow carries the record.
 */
public final class SchemeOptions {

    /** How each scheme's record is made from the options, for a number of ranks and a rank's share of tokens. */
    private interface Maker {
        Scheme make(SchemeOptions options, int ranks, long localLen);
    }

    /** The command line's name for each scheme, in the order help lists them. */
    private static final Map<String, Maker> SCHEMES = new LinkedHashMap<>();

    static {
        SCHEMES.put(Ulysses.NAME, (o, ranks, localLen) -> new Ulysses());
        SCHEMES.put(Ring.NAME, (o, ranks, localLen) -> new Ring());
        SCHEMES.put(WallFacer.NAME, (o, ranks, localLen) -> new WallFacer(o.teamSize != null ? o.teamSize : ranks % 4 == 0 ? 2 : 1,
                o.arrangement));
        SCHEMES.put(Fpdt.NAME, (o, ranks, localLen) -> new Fpdt(o.chunkSize != null ? o.chunkSize : localLen % 4 == 0 ? localLen / 4 : localLen));
        SCHEMES.put(Hybrid.NAME, (o, ranks, localLen) -> new Hybrid(o.ulyssesDegree != null ? o.ulyssesDegree : ranks % 2 == 0 ? 2 : 1));
    }

    @Option(names = "--team-size", paramLabel = "C", description = "wallfacer: team size C, C^2 dividing the ranks "
            + "(default: 2 when 4 divides the ranks, else 1)")
    Integer teamSize;
    @Option(names = "--arrangement", defaultValue = "TEAMS_ADJACENT", description = "wallfacer: which of teams and sub-rings get "
            + "consecutive ranks, i.e. sit on the fast links: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})")
    Arrangement arrangement;
    @Option(names = "--chunk-size", paramLabel = "TOKENS", description = "fpdt: tokens per rank per chunk "
            + "(default: a quarter of a rank's tokens when 4 divides them, else all of them)")
    Long chunkSize;
    @Option(names = "--ulysses-degree", paramLabel = "U", description = "hybrid: ranks per Ulysses group, the ring spanning "
            + "ranks / U groups (default: 2 when 2 divides the ranks, else 1)")
    Integer ulyssesDegree;

    /**
     * The scheme called {@code name} with these options, each one left out given its default for
     * {@code ranks} ranks and a {@code seqLen}-token sequence. Throws {@link IllegalArgumentException}
     * for an unknown name or a setting no scheme takes (a team size below 1).
     */
    public Scheme scheme(String name, int ranks, long seqLen) {
        Maker maker = SCHEMES.get(name);
        if (maker == null) {
            throw new IllegalArgumentException("unknown scheme '" + name + "'; choose one of " + SCHEMES.keySet());
        }
        return maker.make(this, ranks, Math.max(1, seqLen / Math.max(1, ranks)));
    }

    /**
     * The options that make {@code scheme} here, every setting spelled out so that no default
     * depends on the ranks or the sequence: {@code --scheme hybrid --ulysses-degree 8}. The inverse
     * of {@link #scheme}, beside it so that a scheme's options are named in one place.
     */
    public static String arguments(Scheme scheme) {
        String settings = switch (scheme) {
            case Ulysses u -> "";
            case Ring r -> "";
            case WallFacer w -> " --team-size " + w.teamSize() + " --arrangement " + w.arrangement();
            case Fpdt f -> " --chunk-size " + f.chunkLen();
            case Hybrid h -> " --ulysses-degree " + h.ulyssesDegree();
        };
        return "--scheme " + scheme.name() + settings;
    }

    /** The schemes' names, for {@code ${COMPLETION-CANDIDATES}} in the help of the option or parameter that names one. */
    public static final class Names implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return SCHEMES.keySet().iterator();
        }
    }
}
