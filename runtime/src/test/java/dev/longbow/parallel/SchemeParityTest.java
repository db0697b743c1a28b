package dev.longbow.parallel;

import dev.longbow.testing.ShardedProblem;
import dev.longbow.parallel.WallFacer.Arrangement;
import dev.longbow.tensor.DType;
import dev.longbow.testing.HostTensors;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every scheme, gathered over its ranks, reproduces the float64 single-rank attention: out, lse
 * and dq, dk, dv within 1e-4 relative error (2-norm) with fp32 inputs and compute. Inputs are
 * fresh each run; the seed is printed and {@code -Dlongbow.seed=...} replays it.
 *
 * <p>Four problems cover causal and not, MHA and GQA (KV heads replicated where fewer than the
 * Ulysses degree), head dims 64 and 128, and sequence lengths 96, 128, 160 (96 and 160 are not
 * powers of two); each runs on P = 1, 2, 4, 8. WallFacer also runs at P = 16 with C = 1, 2, 4
 * and with the sub-rings adjacent; a six-head problem shows Ring, WallFacer and Hybrid past
 * Ulysses' head limit.
 */
class SchemeParityTest {
    private static final long SEED = HostTensors.seed("SchemeParityTest");
    private static final double TOLERANCE = 1e-4;

    private static final List<ShardedProblem> PROBLEMS = List.of(
            problem(128, 8, 8, 64, true),
            problem(96, 8, 2, 128, true),
            problem(160, 8, 2, 64, false),
            problem(96, 8, 8, 128, false));
    private static final ShardedProblem SIX_HEADS = problem(128, 6, 2, 64, true);

    private static ShardedProblem problem(long seqLen, int heads, int kvHeads, int headDim, boolean causal) {
        Random random = new Random(SEED * 31 + seqLen * 7919 + heads * 131 + kvHeads * 17 + headDim + (causal ? 1 : 0));
        return new ShardedProblem(new AttentionShape(seqLen, heads, kvHeads, headDim, DType.F32, causal), random);
    }

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (ShardedProblem p : PROBLEMS) {
            for (int ranks : new int[] {1, 2, 4, 8}) {
                long local = p.shape.localLen(ranks);
                int team = ranks % 4 == 0 ? 2 : 1;
                int degree = Math.min(ranks, 4);
                for (Scheme config : List.of(
                        new Ulysses(),
                        new Ring(),
                        new WallFacer(team, Arrangement.TEAMS_ADJACENT),
                        new Fpdt(Math.toIntExact(local / 4)),
                        new Hybrid(degree))) {
                    cases.add(Arguments.of(config, ranks, p));
                }
            }
        }
        ShardedProblem first = PROBLEMS.getFirst();
        for (int team : new int[] {1, 2, 4}) {
            cases.add(Arguments.of(new WallFacer(team, Arrangement.TEAMS_ADJACENT), 16, first));
        }
        cases.add(Arguments.of(new WallFacer(2, Arrangement.RINGS_ADJACENT), 16, first));
        cases.add(Arguments.of(new WallFacer(2, Arrangement.RINGS_ADJACENT), 8, PROBLEMS.get(2)));
        cases.add(Arguments.of(new Hybrid(2), 8, PROBLEMS.get(1)));
        cases.add(Arguments.of(new Ring(), 4, SIX_HEADS));
        cases.add(Arguments.of(new WallFacer(2, Arrangement.TEAMS_ADJACENT), 4, SIX_HEADS));
        cases.add(Arguments.of(new Hybrid(2), 4, SIX_HEADS));
        return cases.stream();
    }

    /**
     * bf16 inputs and outputs: the schemes keep their accumulators in fp32 and round once, so the
     * results match the reference on the same rounded inputs to bf16's precision (2^-8).
     */
    static Stream<Arguments> bf16Cases() {
        ShardedProblem p = new ShardedProblem(new AttentionShape(128, 8, 2, 64, DType.BF16, true), new Random(SEED));
        return Stream.of(new Ulysses(), new Ring(), new WallFacer(2, Arrangement.TEAMS_ADJACENT),
                new Fpdt(8), new Hybrid(2)).map(config -> Arguments.of(config, 4, p));
    }

    @ParameterizedTest(name = "{0} P={1} {2}")
    @MethodSource("bf16Cases")
    void bf16ResultsMatchTheReferenceToBf16Precision(Scheme config, int ranks, ShardedProblem problem) {
        var results = problem.run(config, ranks);
        problem.assertMatches(config.name() + " P=" + ranks + " " + problem, results, config.layout(), 1e-2);
    }

    @ParameterizedTest(name = "{0} P={1} {2}")
    @MethodSource("cases")
    void gatheredResultsMatchTheFloat64Reference(Scheme config, int ranks, ShardedProblem problem) {
        config.validate(ranks, problem.shape);
        var results = problem.run(config, ranks);
        problem.assertMatches(config.name() + " P=" + ranks + " " + problem, results, config.layout(), TOLERANCE);
    }
}
