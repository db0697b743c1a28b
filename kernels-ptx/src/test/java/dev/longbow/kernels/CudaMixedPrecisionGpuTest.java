package dev.longbow.kernels;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.longbow.comm.RankLaunchers;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.Precision;
import dev.longbow.parallel.Scheme;
import dev.longbow.parallel.Ring;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.HostAllocation;
import dev.longbow.tensor.Tensor;
import dev.longbow.train.MemoryEstimate;
import dev.longbow.train.OptimizerConfig;
import dev.longbow.train.RandomSequences;
import dev.longbow.train.RankTrainer;
import dev.longbow.train.StepStats;
import dev.longbow.train.TrainConfig;
import dev.longbow.train.Trainer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Mixed-precision training on the cuda backend against the cpu backend's fp32 training of the
 * same model from the same seed on the same data: the tiny preset (head dim 16, so attention
 * runs zero-padded to 64), a 512-token vocabulary, 128-token sequences.
 *
 * <p>Tolerances. bf16 keeps 8 significant bits: one rounding errs by at most 2^-9 (0.2%)
 * relative, and a weight gradient passes through about three roundings of its inputs (weights'
 * copy, activations, the gradient flowing in), so its 2-norm relative error is a few 1e-3
 * (measured on the stand-in: 2.6e-3 to 6.5e-3 over the 20 tensors); 2e-2 allows three times the
 * worst, and any defect in the data flow (a wrong scale in the padded attention: 0.5 on q_proj;
 * a missing term) is of order 1. The first loss depends on the forward only: each token's
 * loss errs by about 2^-9 of a logit (about 0.2 at initialisation), and the mean over 128
 * tokens averages those signs out (measured: 1e-5); 5e-4 is 0.01% of the loss. Later losses
 * move apart as the updates differ: AdamW's first steps are nearly lr * sign(g), so a gradient
 * element that bf16 turns around moves its weight the other way (measured: 4e-4 after three
 * steps); 2e-3 is five times that, and less than the 5e-3 a stale bf16 weight copy (not
 * refreshed after an update) costs at step 1.
 */
@Tag("gpu")
class CudaMixedPrecisionGpuTest {
    private static final ModelConfig MODEL = ModelConfig.named("tiny", 512);
    private static final int SEQ = 128;
    private static final int STEPS = 4;
    private static final double GRADIENT_TOLERANCE = 2e-2;
    private static final double FIRST_LOSS_TOLERANCE = 5e-4;
    private static final double LOSS_TOLERANCE = 2e-3;

    /** The backward of every layer op in mixed precision, weight by weight, from the same initial weights. */
    @Test
    void bf16GradientsOfEveryWeightMatchFp32() {
        Map<String, double[]> fp32 = gradients(BackendChoice.CPU, Precision.F32);
        Map<String, double[]> bf16 = gradients(BackendChoice.CUDA, Precision.BF16_MIXED);
        for (String name : fp32.keySet()) {
            double[] e = fp32.get(name);
            double[] a = bf16.get(name);
            double diff = 0;
            double norm = 0;
            for (int i = 0; i < e.length; i++) {
                diff += (a[i] - e[i]) * (a[i] - e[i]);
                norm += e[i] * e[i];
            }
            System.out.printf("%-46s relative error %.2e%n", name, Math.sqrt(diff / norm));
            assertTrue(Math.sqrt(diff / norm) <= GRADIENT_TOLERANCE, name + ": relative error " + Math.sqrt(diff / norm));
        }
    }

    /** One rank's weight gradients for the first sequence, from the seed's initial weights. */
    private static Map<String, double[]> gradients(BackendChoice backend, Precision precision) {
        TrainConfig config = new TrainConfig(MODEL, new Ring(), 1, SEQ, backend, 1, 1,
                OptimizerConfig.defaults(3e-3f, 2), 42, false, 64, precision, false).validate();
        return RankLaunchers.run(1, backend, (b, comm) -> {
            try (RankTrainer trainer = new RankTrainer(config, b, comm)) {
                MemoryEstimate estimate = MemoryEstimate.of(config);
                assertEquals(estimate.modelStates() + estimate.activations(), trainer.bufferBytes(),
                        "the estimate made before any work counts the " + precision.label() + " slabs (the bf16 weight copy too)");
                trainer.accumulateGradients(List.of(new RandomSequences(MODEL.vocab(), SEQ, 0).next()));
                Map<String, double[]> all = new LinkedHashMap<>();
                for (String name : trainer.model().grads().names()) {
                    Tensor g = trainer.model().grads().get(name);
                    try (HostAllocation host = new HostAllocation(g.byteSize())) {
                        Tensor h = HostAllocation.tensor(host, DType.F32, g.numel());
                        b.tensors().copy(g.view(g.numel()), h);
                        b.synchronize();
                        double[] values = new double[(int) g.numel()];
                        for (int i = 0; i < values.length; i++) {
                            values[i] = h.getFloat(i);
                        }
                        all.put(name, values);
                    }
                }
                return all;
            }
        }).getFirst();
    }

    /** Two ranks with Ring: the fp32 gradients are all-reduced, the fp32 masters updated and copied to bf16 each step. */
    @Test
    void bf16LossesFollowTheFp32Run() {
        List<StepStats> fp32 = train(BackendChoice.CPU, Precision.F32);
        List<StepStats> bf16 = train(BackendChoice.CUDA, Precision.BF16_MIXED);
        for (int i = 0; i < STEPS; i++) {
            System.out.printf("step %d: cpu f32 loss %.6f grad norm %.6f, cuda bf16 loss %.6f grad norm %.6f%n", i,
                    fp32.get(i).loss(), fp32.get(i).gradNorm(), bf16.get(i).loss(), bf16.get(i).gradNorm());
        }
        for (int i = 0; i < STEPS; i++) {
            assertTrue(Double.isFinite(bf16.get(i).loss()), "step " + i);
        }
        assertEquals(fp32.getFirst().loss(), bf16.getFirst().loss(), FIRST_LOSS_TOLERANCE, "the first loss depends on the forward only");
        for (int i = 1; i < STEPS; i++) {
            assertEquals(fp32.get(i).loss(), bf16.get(i).loss(), LOSS_TOLERANCE, "step " + i);
        }
    }

    private static List<StepStats> train(BackendChoice backend, Precision precision) {
        TrainConfig config = new TrainConfig(MODEL, new Ring(), 2, SEQ, backend, STEPS, 1,
                OptimizerConfig.defaults(3e-3f, 2), 42, false, 64, precision, false);
        return Trainer.run(config, new RandomSequences(MODEL.vocab(), SEQ, 0), Trainer.Checkpointing.NONE, s -> { }, null).steps();
    }
}
