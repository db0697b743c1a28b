package dev.longbow.train;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.longbow.comm.local.LocalRanks;
import dev.longbow.model.Precision;
import dev.longbow.parallel.Fpdt;
import dev.longbow.parallel.Hybrid;
import dev.longbow.parallel.Ring;
import dev.longbow.parallel.Scheme;
import dev.longbow.parallel.Ulysses;
import dev.longbow.parallel.WallFacer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The memory a run needs is known before anything is allocated: the slabs exactly as a rank then
 * allocates them, the attention buffers at least what the scheme's calls measure; a run that
 * cannot fit is refused up front, naming the bytes needed and available.
 */
class MemoryEstimateTest {

    /** Every scheme; Ulysses also with recomputation, which changes both the activations and what attention keeps. */
    static Stream<Arguments> schemes() {
        return Stream.of(Arguments.of(new Ulysses(), false), Arguments.of(new Ulysses(), true),
                Arguments.of(new Ring(), false),
                Arguments.of(new WallFacer(2, WallFacer.Arrangement.TEAMS_ADJACENT), false),
                Arguments.of(new Fpdt(4), false), Arguments.of(new Hybrid(2), false));
    }

    private static TrainConfig config(Scheme scheme, boolean recompute) {
        return new TrainConfig(TrainProcess.MODEL, scheme, 4, 64, BackendChoice.CPU, 1, 1, OptimizerConfig.defaults(3e-3f, 2), 99, recompute, 8, Precision.F32, false);
    }

    @ParameterizedTest(name = "{0}, recompute {1}")
    @MethodSource("schemes")
    void theEstimateIsWhatARankAllocatesAndBoundsTheAttentionBuffers(Scheme scheme, boolean recompute) {
        TrainConfig config = config(scheme, recompute);
        MemoryEstimate estimate = MemoryEstimate.of(config);
        List<long[]> measured = LocalRanks.run(4, BackendChoice.CPU, (backend, comm) -> {
            try (RankTrainer trainer = new RankTrainer(config, backend, comm)) {
                trainer.step(0, List.of(new RandomSequences(TrainProcess.MODEL.vocab(), 64, 7).next()), OnNonFinite.STOP);
                return new long[] {trainer.bufferBytes(), trainer.attention().lastCall().peakBufferBytes()};
            }
        });
        for (long[] rank : measured) {
            assertEquals(rank[0], estimate.modelStates() + estimate.activations(), "the slabs");
            assertTrue(estimate.attention() >= rank[1], "attention estimate " + estimate.attention() + " below the measured " + rank[1]);
        }
    }

    @Test
    void aRunThatCannotFitIsRefusedBeforeAllocatingNamingBytesNeededAndAvailable() {
        assumeTrue(Files.isReadable(Path.of("/proc/meminfo")), "host memory is read from /proc/meminfo");
        TrainConfig huge = new TrainConfig(TrainProcess.MODEL, new Ring(), 1, TrainConfig.MAX_SEQ_LEN, BackendChoice.CPU, 1, 1,
                OptimizerConfig.defaults(3e-3f, 2), 99, false, 8, Precision.F32, false);
        var e = assertThrows(IllegalArgumentException.class, () -> Trainer.run(huge,
                new RandomSequences(TrainProcess.MODEL.vocab(), TrainConfig.MAX_SEQ_LEN, 7), Trainer.Checkpointing.NONE, s -> { }, null));
        assertTrue(e.getMessage().startsWith("model kill with 1073741824-token sequences on 1 rank (ring) needs about "), e.getMessage());
        assertTrue(e.getMessage().contains(" GiB of host memory (model states ") && e.getMessage().contains(" is available; use a "
                + "shorter --seq-len, --recompute, or a smaller --model"), e.getMessage());
    }

    @Test
    void aSequenceLongerThanAProcessCanHoldIsRefused() {
        TrainConfig tooLong = new TrainConfig(TrainProcess.MODEL, new Ring(), 1, Integer.MAX_VALUE - 1, BackendChoice.CPU, 1, 1,
                OptimizerConfig.defaults(3e-3f, 2), 99, false, 8, Precision.F32, false);
        var e = assertThrows(IllegalArgumentException.class, tooLong::validate);
        assertEquals("sequence length 2147483646 is more than the 1073741824 tokens (2^30) one process can hold as a sequence; use "
                + "--seq-len 1073741824 or less", e.getMessage());
    }
}
