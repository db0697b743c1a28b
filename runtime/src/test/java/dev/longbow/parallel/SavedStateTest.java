package dev.longbow.parallel;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.comm.RankFailedException;
import dev.longbow.comm.RankMemory;
import dev.longbow.comm.local.LocalRanks;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A forward's saved state serves one backward, in every scheme: backward may reuse the saved
 * memory as scratch (Ulysses rounds bf16 gradients into it), so a second backward on the same
 * state, or one after the state was closed, fails instead of returning wrong gradients.
 */
class SavedStateTest {
    private static final AttentionShape SHAPE = new AttentionShape(32, 2, 2, 16, DType.BF16, true);

    static Stream<Scheme> schemes() {
        return Stream.of(new Ulysses(), new Ring(),
                new WallFacer(1, WallFacer.Arrangement.TEAMS_ADJACENT), new Fpdt(4),
                new Hybrid(2));
    }

    /** Runs forward, one backward, then {@code misuse} on 2 ranks; returns what the misuse threw. */
    private static Throwable misuse(Scheme config, boolean closeFirst) {
        RankFailedException e = assertThrows(RankFailedException.class, () -> assertTimeoutPreemptively(Duration.ofSeconds(30),
                () -> LocalRanks.run(2, BackendChoice.CPU, (backend, comm) -> {
                    try (RankMemory mem = new RankMemory(backend);
                         SequenceParallelAttention scheme = config.attention(SHAPE, backend, comm)) {
                        long n = SHAPE.localLen(2);
                        Tensor q = mem.zeros(DType.BF16, n, 2, 16);
                        Tensor k = mem.zeros(DType.BF16, n, 2, 16);
                        Tensor v = mem.zeros(DType.BF16, n, 2, 16);
                        Tensor out = mem.zeros(DType.BF16, n, 2, 16);
                        Tensor lse = mem.zeros(DType.F32, n, 2);
                        Tensor dq = mem.zeros(DType.BF16, n, 2, 16);
                        Tensor dk = mem.zeros(DType.BF16, n, 2, 16);
                        Tensor dv = mem.zeros(DType.BF16, n, 2, 16);
                        SequenceParallelAttention.Saved saved = scheme.forward(q, k, v, out, lse);
                        if (closeFirst) {
                            saved.close();
                        } else {
                            scheme.backward(saved, out, dq, dk, dv);
                        }
                        scheme.backward(saved, out, dq, dk, dv);
                        saved.close();
                    }
                    return null;
                })));
        return e.getCause();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("schemes")
    void aSecondBackwardOnOneSavedStateFails(Scheme config) {
        Throwable cause = misuse(config, false);
        assertInstanceOf(IllegalStateException.class, cause);
        assertTrue(cause.getMessage().equals(config.name() + ".backward was already called on this saved state, and backward "
                + "may reuse its memory; run forward again before another backward"), cause.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("schemes")
    void aBackwardOnAClosedSavedStateFails(Scheme config) {
        Throwable cause = misuse(config, true);
        assertInstanceOf(IllegalStateException.class, cause);
        assertTrue(cause.getMessage().contains("this saved state was closed"), cause.getMessage());
    }
}
