package dev.longbow.train;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.longbow.comm.local.LocalRanks;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.Precision;
import dev.longbow.model.Weights;
import dev.longbow.tensor.DType;
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
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The memory a run needs is known before anything is allocated: the slabs exactly as a rank then
 * allocates them, the attention buffers at least what the scheme's calls measure; a run that
 * cannot fit is refused up front, naming the bytes needed and available.
 */
class MemoryEstimateTest {

    /**
     * Every scheme; Ulysses also with recomputation, which changes both the activations and what attention keeps, and
     * Ulysses and Ring with sharded model states.
     */
    static Stream<Arguments> schemes() {
        return Stream.of(Arguments.of(new Ulysses(), false, false), Arguments.of(new Ulysses(), true, false),
                Arguments.of(new Ring(), false, false),
                Arguments.of(new WallFacer(2, WallFacer.Arrangement.TEAMS_ADJACENT), false, false),
                Arguments.of(new Fpdt(4), false, false), Arguments.of(new Hybrid(2), false, false),
                Arguments.of(new Ulysses(), true, true), Arguments.of(new Ring(), false, true));
    }

    private static TrainConfig config(Scheme scheme, boolean recompute, boolean sharded) {
        return new TrainConfig(TrainProcess.MODEL, scheme, 4, 64, BackendChoice.CPU, 1, 1, OptimizerConfig.defaults(3e-3f, 2), 99,
                recompute, 8, Precision.F32, sharded);
    }

    @ParameterizedTest(name = "{0}, recompute {1}, sharded {2}")
    @MethodSource("schemes")
    void theEstimateIsWhatARankAllocatesAndBoundsTheAttentionBuffers(Scheme scheme, boolean recompute, boolean sharded) {
        TrainConfig config = config(scheme, recompute, sharded);
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

    /**
     * Sharded, a rank keeps 16 / ranks bytes a parameter of fp32 states (weights, gradients, two
     * moments; each unit's shard rounded up to whole 256-byte blocks) and two fp32 buffers (gathered
     * weights, their gradients) for each of the embedding, one layer and the tail, plus one shard
     * of the largest unit to reduce-scatter into; in mixed precision also a bf16 copy of one
     * layer's matrices and of the head. Replicated: four fp32 copies of the whole layout, and in
     * mixed precision a bf16 copy.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Precision.class)
    void shardedStatesCostSixteenBytesAParameterOverTheRanksPlusTheUnitBuffers(Precision precision) {
        ModelConfig m = ShardedTrainingTest.UNTIED;
        int ranks = 4;
        // every view of the layout starts on a 256-byte boundary: 64 fp32 elements
        long embedding = up(m.vocab() * (long) m.dim(), 64), tail = up(m.dim(), 64) + up(m.vocab() * (long) m.dim(), 64);
        long layer = 2 * up(m.dim(), 64) + up(m.qDim() * (long) m.dim(), 64) + 2 * up(m.kvDim() * (long) m.dim(), 64)
                + up(m.dim() * (long) m.qDim(), 64) + 3 * up(m.ffnHidden() * (long) m.dim(), 64);
        long flat = Weights.byteSize(m, DType.F32) / Float.BYTES;
        assertEquals(flat, embedding + m.layers() * layer + tail, "the units tile the layout");
        long e = shard(embedding, ranks), l = shard(layer, ranks), t = shard(tail, ranks);
        long fp32 = 4 * (e + m.layers() * l + t) + 2L * ranks * (e + l + t) + Math.max(e, Math.max(l, t));
        long bf16 = up(m.qDim() * (long) m.dim(), 128) + 2 * up(m.kvDim() * (long) m.dim(), 128) + up(m.dim() * (long) m.qDim(), 128)
                + 3 * up(m.ffnHidden() * (long) m.dim(), 128) + up(m.vocab() * (long) m.dim(), 128);
        long sharded = Float.BYTES * fp32 + (precision == Precision.F32 ? 0 : 2 * bf16);
        long replicated = 4 * Float.BYTES * flat + (precision == Precision.F32 ? 0 : Weights.byteSize(m, precision.compute()));

        assertEquals(sharded, MemoryEstimate.of(gpuConfig(m, ranks, precision, true)).modelStates());
        assertEquals(replicated, MemoryEstimate.of(gpuConfig(m, ranks, precision, false)).modelStates());
        assertTrue(sharded < replicated, sharded + " bytes sharded, " + replicated + " replicated");
        assertEquals(MemoryEstimate.of(gpuConfig(m, ranks, precision, false)).activations(),
                MemoryEstimate.of(gpuConfig(m, ranks, precision, true)).activations());
    }

    /** A run on the cuda backend (estimated, not run: the CPU trains in fp32 only). */
    private static TrainConfig gpuConfig(ModelConfig m, int ranks, Precision precision, boolean sharded) {
        return new TrainConfig(m, new Ulysses(), ranks, 64, "cuda", 1, 1, OptimizerConfig.defaults(3e-3f, 2), 99, false, 8, precision,
                sharded);
    }

    private static long up(long elements, long block) {
        return (elements + block - 1) / block * block;
    }

    /** A rank's shard of a unit: the unit over the ranks, up to whole 64-element blocks. */
    private static long shard(long unit, int ranks) {
        return up((unit + ranks - 1) / ranks, 64);
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
                + "shorter --seq-len, --recompute, --shard-model-states, or a smaller --model"), e.getMessage());
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
