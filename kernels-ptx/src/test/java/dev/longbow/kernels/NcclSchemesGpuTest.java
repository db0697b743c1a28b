package dev.longbow.kernels;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.longbow.comm.nccl.NcclLauncher;
import dev.longbow.cuda.Cuda;
import dev.longbow.parallel.AttentionShape;
import dev.longbow.parallel.Fpdt;
import dev.longbow.parallel.Hybrid;
import dev.longbow.parallel.Ring;
import dev.longbow.parallel.Scheme;
import dev.longbow.parallel.Ulysses;
import dev.longbow.parallel.WallFacer;
import dev.longbow.tensor.DType;
import dev.longbow.testing.HostTensors;
import dev.longbow.testing.ShardedProblem;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every scheme on four GPUs with NCCL between them, forward and backward, gathered over the ranks
 * and compared with the float64 single-device attention to bf16's precision: the whole multi-GPU
 * path (a thread per GPU, NCCL collectives and grouped send/recv on each rank's communication
 * stream, events between the streams, flash kernels, pooled memory) in one test.
 */
@Tag("gpu")
class NcclSchemesGpuTest {
    private static final ShardedProblem PROBLEM = new ShardedProblem(new AttentionShape(256, 8, 4, 64, DType.BF16, true),
            new Random(HostTensors.seed("NcclSchemesGpuTest")));

    static Stream<Scheme> schemes() {
        return Stream.of(new Ulysses(), new Ring(),
                new WallFacer(2, WallFacer.Arrangement.TEAMS_ADJACENT), new Fpdt(16),
                new Hybrid(2));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("schemes")
    void fourGpusMatchTheReference(Scheme config) {
        assumeTrue(Cuda.deviceCount() >= 4, "needs four GPUs (NCCL runs one rank per GPU; the stand-in has four)");
        var results = PROBLEM.run(config, 4, new NcclLauncher(), BackendChoice.CUDA);
        PROBLEM.assertMatches(config.name() + " on 4 GPUs (NCCL) " + PROBLEM, results, config.layout(), 1e-2);
    }
}
