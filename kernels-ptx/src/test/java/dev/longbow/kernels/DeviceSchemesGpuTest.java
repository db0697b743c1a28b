package dev.longbow.kernels;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.longbow.backend.Backend;
import dev.longbow.comm.Communicator;
import dev.longbow.comm.local.LocalRanks;
import dev.longbow.kernels.comm.DeviceLauncher;
import dev.longbow.parallel.AttentionShape;
import dev.longbow.parallel.Scheme;
import dev.longbow.parallel.Hybrid;
import dev.longbow.parallel.Fpdt;
import dev.longbow.parallel.WallFacer;
import dev.longbow.parallel.Ring;
import dev.longbow.parallel.Ulysses;
import dev.longbow.parallel.SequenceParallelAttention;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import dev.longbow.testing.HostTensors;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Every sequence-parallel scheme on four ranks that share one GPU (the device communicator)
 * gives, rank by rank, what the same scheme gives on four CPU ranks (the CPU backend and the
 * in-process communicator) from the same shards: out, lse, dq, dk, dv. Each rank draws its own
 * shards from the test's seed, so both runs see the same inputs; the CPU schemes are checked
 * against single-device attention in runtime's tests.
 */
@Tag("gpu")
class DeviceSchemesGpuTest {
    private static final int RANKS = 4;
    private static final AttentionShape SHAPE = new AttentionShape(256, 4, 2, 64, DType.BF16, true);
    private static final String[] NAMES = {"out", "lse", "dq", "dk", "dv"};
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final List<Scheme> CONFIGS = List.of(new Ulysses(), new Ring(),
            new WallFacer(2, WallFacer.Arrangement.TEAMS_ADJACENT), new Fpdt(16),
            new Hybrid(2));

    @Test
    void everySchemeOnFourRanksOfOneGpuMatchesTheCpuBackend() {
        long seed = HostTensors.seed(getClass().getSimpleName());
        DeviceLauncher oneGpu = new DeviceLauncher();
        for (Scheme config : CONFIGS) {
            config.validate(RANKS, SHAPE);
            List<double[][]> gpu = oneGpu.run(RANKS, BackendChoice.CUDA, TIMEOUT, (backend, comm) -> run(backend, comm, config, seed));
            List<double[][]> cpu = LocalRanks.run(RANKS, BackendChoice.CPU, (backend, comm) -> run(backend, comm, config, seed));
            for (int r = 0; r < RANKS; r++) {
                for (int i = 0; i < NAMES.length; i++) {
                    Compare.close(config.name() + " rank " + r + " of " + RANKS + " " + NAMES[i] + " (cuda, one GPU, vs cpu)",
                            gpu.get(r)[i], cpu.get(r)[i], Compare.tolerance(DType.BF16));
                }
            }
        }
    }

    /**
     * cuMemAlloc and cuMemFree synchronise the device, which four ranks share: after its first call
     * a scheme, communicator included, only reuses the pool's blocks.
     */
    @Test
    void aSchemeCalledAgainOnFourRanksAllocatesNothing() {
        DeviceLauncher oneGpu = new DeviceLauncher();
        for (Scheme config : CONFIGS) {
            List<int[]> blocks = oneGpu.run(RANKS, BackendChoice.CUDA, TIMEOUT, (backend, comm) -> {
                long local = SHAPE.localLen(RANKS);
                try (DeviceTensors mem = new DeviceTensors(backend);
                     SequenceParallelAttention scheme = config.attention(SHAPE, backend, comm)) {
                    Tensor q = mem.poisoned(SHAPE.dtype(), local, SHAPE.heads(), SHAPE.headDim());
                    Tensor kv = mem.poisoned(SHAPE.dtype(), local, SHAPE.kvHeads(), SHAPE.headDim());
                    backend.tensors().fill(q, 0.5f);
                    backend.tensors().fill(kv, 0.25f);
                    Tensor out = mem.poisoned(SHAPE.dtype(), q.shape().toArray());
                    Tensor lse = mem.poisoned(DType.F32, local, SHAPE.heads());
                    Tensor dq = mem.poisoned(SHAPE.dtype(), q.shape().toArray());
                    Tensor dk = mem.poisoned(SHAPE.dtype(), kv.shape().toArray());
                    Tensor dv = mem.poisoned(SHAPE.dtype(), kv.shape().toArray());
                    int[] made = new int[3];
                    for (int step = 0; step < made.length; step++) {
                        try (var saved = scheme.forward(q, kv, kv, out, lse)) {
                            scheme.backward(saved, out, dq, dk, dv);
                        }
                        made[step] = ((CudaBackend) backend).pooledBlocks();
                    }
                    return made;
                }
            });
            for (int r = 0; r < RANKS; r++) {
                assertEquals(blocks.get(r)[0], blocks.get(r)[2], config.name() + " rank " + r + ": blocks made after steps 1..3: "
                        + Arrays.toString(blocks.get(r)));
            }
        }
    }

    /** One forward and backward of the scheme on this rank's shards; the results as float64, in {@link #NAMES} order. */
    private static double[][] run(Backend backend, Communicator comm, Scheme config, long seed) {
        Random random = new Random(seed * 31 + comm.rank());
        long local = SHAPE.localLen(RANKS);
        try (DeviceTensors mem = new DeviceTensors(backend)) {
            HostTensors host = mem.host();
            Tensor q = mem.upload(host.random(SHAPE.dtype(), random, local, SHAPE.heads(), SHAPE.headDim()));
            Tensor k = mem.upload(host.random(SHAPE.dtype(), random, local, SHAPE.kvHeads(), SHAPE.headDim()));
            Tensor v = mem.upload(host.random(SHAPE.dtype(), random, local, SHAPE.kvHeads(), SHAPE.headDim()));
            Tensor dout = mem.upload(host.random(SHAPE.dtype(), random, local, SHAPE.heads(), SHAPE.headDim()));
            Tensor out = mem.poisoned(SHAPE.dtype(), q.shape().toArray());
            Tensor lse = mem.poisoned(DType.F32, local, SHAPE.heads());
            Tensor dq = mem.poisoned(SHAPE.dtype(), q.shape().toArray());
            Tensor dk = mem.poisoned(SHAPE.dtype(), k.shape().toArray());
            Tensor dv = mem.poisoned(SHAPE.dtype(), v.shape().toArray());
            try (SequenceParallelAttention scheme = config.attention(SHAPE, backend, comm);
                 var saved = scheme.forward(q, k, v, out, lse)) {
                scheme.backward(saved, dout, dq, dk, dv);
            }
            List<double[]> results = new ArrayList<>();
            for (Tensor t : new Tensor[] {out, lse, dq, dk, dv}) {
                results.add(mem.download(t));
            }
            mem.assertGuardsIntact();
            return results.toArray(double[][]::new);
        }
    }
}
