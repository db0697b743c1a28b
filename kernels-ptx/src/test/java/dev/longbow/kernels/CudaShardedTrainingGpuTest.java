package dev.longbow.kernels;

import dev.longbow.backend.Backend;
import dev.longbow.backend.BackendChoice;
import dev.longbow.comm.CollectiveTimeout;
import dev.longbow.comm.nccl.NcclLauncher;
import dev.longbow.data.TokenSequence;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.Precision;
import dev.longbow.parallel.Ulysses;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.HostAllocation;
import dev.longbow.tensor.Tensor;
import dev.longbow.train.MemoryEstimate;
import dev.longbow.train.OnNonFinite;
import dev.longbow.train.OptimizerConfig;
import dev.longbow.train.RandomSequences;
import dev.longbow.train.RankTrainer;
import dev.longbow.train.TrainConfig;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Sharded model states on the cuda backend (mixed precision: what it trains in) with NCCL on 2
 * ranks: the units all-gathered from device shards and converted to their bf16 copies, the
 * gradients reduce-scattered into the shards, the shards updated by the AdamW kernel span by
 * span; the losses and the parameters after three steps are the replicated run's. Both runs
 * compute the same products from the same bf16 copies of the same fp32 masters, so they differ
 * only where sums over the ranks are ordered differently (an all-reduce against a
 * reduce-scatter); an activation then rounded to bf16 the other way moves a gradient by up to
 * 2^-8 of it, and AdamW's first steps, nearly lr * sign(g), can turn that into 2 lr (6e-3) on a
 * weight whose gradient is near zero: hence 1e-4 of a loss and 1e-2 per parameter, where a
 * missing or doubled gradient contribution moves a loss by 1e-2 and weights by lr every step.
 */
@Tag("gpu")
class CudaShardedTrainingGpuTest {
    private static final ModelConfig MODEL = new ModelConfig("sharded", 131, 64, 2, 4, 2, 16, 96, 10000f, 1e-5f, false);
    private static final int SEQ = 64;
    private static final int STEPS = 3;

    private record Trained(List<Double> losses, double[] params) {
    }

    @Test
    void shardedStatesTrainAsReplicatedOnes() {
        Trained replicated = train(false);
        Trained sharded = train(true);
        for (int i = 0; i < STEPS; i++) {
            double loss = replicated.losses.get(i);
            System.out.printf("step %d: replicated loss %.6f, sharded %.6f%n", i, loss, sharded.losses.get(i));
            assertEquals(loss, sharded.losses.get(i), 1e-4 * loss, "step " + i);
        }
        for (int i = 0; i < replicated.params.length; i++) {
            assertEquals(replicated.params[i], sharded.params[i], 1e-2, "parameter element " + i);
        }
    }

    /** Rank 0's losses, and its whole parameters after the last step; each rank checks its buffers against the estimate. */
    private static Trained train(boolean sharded) {
        TrainConfig config = TrainConfig.builder(MODEL, new Ulysses()).ranks(2).seqLen(SEQ).backend(BackendChoice.CUDA).steps(STEPS)
                .batch(2).optimizer(OptimizerConfig.defaults(3e-3f, 1)).seed(42).chunkRows(32).precision(Precision.BF16_MIXED)
                .shardModelStates(sharded).build();
        RandomSequences data = new RandomSequences(MODEL.vocab(), SEQ, 0);
        List<List<TokenSequence>> batches = new ArrayList<>();
        for (int s = 0; s < STEPS; s++) {
            batches.add(List.of(data.next(), data.next()));
        }
        return new NcclLauncher().run(2, BackendChoice.CUDA, CollectiveTimeout.DEFAULT, (backend, comm) -> {
            try (RankTrainer trainer = new RankTrainer(config, backend, comm)) {
                MemoryEstimate estimate = MemoryEstimate.of(config);
                assertEquals(estimate.modelStates() + estimate.activations(), trainer.bufferBytes(), "the estimate is what a rank allocates");
                List<Double> losses = new ArrayList<>();
                for (int s = 0; s < STEPS; s++) {
                    losses.add(trainer.step(s, batches.get(s), OnNonFinite.STOP).loss());
                }
                double[][] params = {null};
                trainer.withCheckpointState(state -> params[0] = onHost(state.params().flat(), backend));
                return new Trained(losses, params[0]);
            }
        }).getFirst();
    }

    private static double[] onHost(Tensor t, Backend backend) {
        try (HostAllocation host = new HostAllocation(t.byteSize())) {
            Tensor h = HostAllocation.tensor(host, DType.F32, t.numel());
            backend.tensors().copy(t, h);
            backend.synchronize();
            double[] d = new double[(int) t.numel()];
            for (int i = 0; i < d.length; i++) {
                d[i] = h.getFloat(i);
            }
            return d;
        }
    }
}
