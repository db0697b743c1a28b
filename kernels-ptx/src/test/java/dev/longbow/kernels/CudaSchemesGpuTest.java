package dev.longbow.kernels;

import dev.longbow.backend.BackendChoice;
import static org.junit.jupiter.api.Assertions.assertEquals;


import dev.longbow.backend.Backend;
import dev.longbow.comm.Communicator;
import dev.longbow.comm.local.LocalRanks;
import dev.longbow.parallel.AttentionShape;
import dev.longbow.parallel.Fpdt;
import dev.longbow.parallel.Hybrid;
import dev.longbow.parallel.Ring;
import dev.longbow.parallel.Scheme;
import dev.longbow.parallel.SequenceParallelAttention;
import dev.longbow.parallel.Ulysses;
import dev.longbow.parallel.WallFacer;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every sequence-parallel scheme on the CUDA backend with a one-rank communicator gives the
 * CPU backend's results on the same inputs: out, lse, dq, dk, dv. FPDT runs in four chunks, so
 * its offload to pinned host memory and prefetch (copyAsync on the copy stream) take part.
 */
class CudaSchemesGpuTest extends GpuTest {
    private static final String[] NAMES = {"out", "lse", "dq", "dk", "dv"};

    @Test
    void everySchemeMatchesTheCpuBackend() {
        for (int headDim : new int[] {64, 128}) {
            AttentionShape shape = new AttentionShape(512, 4, 2, headDim, DType.BF16, true);
            AttentionShape unmasked = new AttentionShape(512, 4, 2, headDim, DType.BF16, false);
            List<Scheme> configs = List.of(new Ulysses(), new Ring(),
                    new WallFacer(1, WallFacer.Arrangement.TEAMS_ADJACENT), new Fpdt(128),
                    new Hybrid(1));
            Tensor q = randomHost(DType.BF16, shape.seqLen(), shape.heads(), headDim);
            Tensor k = randomHost(DType.BF16, shape.seqLen(), shape.kvHeads(), headDim);
            Tensor v = randomHost(DType.BF16, shape.seqLen(), shape.kvHeads(), headDim);
            Tensor dout = randomHost(DType.BF16, shape.seqLen(), shape.heads(), headDim);
            for (Scheme config : configs) {
                assertMatchesTheCpuBackend(config, shape, q, k, v, dout);
            }
            assertMatchesTheCpuBackend(new Ring(), unmasked, q, k, v, dout);
        }
    }

    private void assertMatchesTheCpuBackend(Scheme config, AttentionShape shape, Tensor q, Tensor k, Tensor v, Tensor dout) {
        double[][] gpu = run(backend, new SingleRankCommunicator(backend), config, shape, q, k, v, dout);
        double[][] cpu = LocalRanks.run(1, BackendChoice.CPU, (cpuBackend, comm) -> run(cpuBackend, comm, config, shape, q, k, v, dout)).getFirst();
        for (int i = 0; i < NAMES.length; i++) {
            Compare.close(config + (shape.causal() ? "" : " unmasked") + " D=" + shape.headDim() + " " + NAMES[i] + " (cuda vs cpu)",
                    gpu[i], cpu[i], 1e-2);
        }
    }

    /**
     * cuMemAlloc/cuMemFree synchronise the device and, with several ranks in one process, can
     * hang NCCL: after its first call a scheme must only reuse the pool's blocks.
     */
    @Test
    void aSchemeCalledAgainAllocatesNothing() {
        AttentionShape shape = new AttentionShape(512, 4, 2, 64, DType.BF16, true);
        for (Scheme config : List.of(new Ulysses(), new Ring(), new Fpdt(128),
                new WallFacer(1, WallFacer.Arrangement.TEAMS_ADJACENT), new Hybrid(1))) {
            Tensor q = randomDevice(DType.BF16, shape.seqLen(), shape.heads(), 64);
            Tensor kv = randomDevice(DType.BF16, shape.seqLen(), shape.kvHeads(), 64);
            Tensor out = dev.poisoned(DType.BF16, shape.seqLen(), shape.heads(), 64);
            Tensor lse = dev.poisoned(DType.F32, shape.seqLen(), shape.heads());
            Tensor dq = dev.poisoned(DType.BF16, shape.seqLen(), shape.heads(), 64);
            Tensor dk = dev.poisoned(DType.BF16, shape.seqLen(), shape.kvHeads(), 64);
            Tensor dv = dev.poisoned(DType.BF16, shape.seqLen(), shape.kvHeads(), 64);
            SequenceParallelAttention scheme = config.attention(shape, backend, new SingleRankCommunicator(backend));
            int[] blocks = new int[3];
            for (int step = 0; step < 3; step++) {
                try (var saved = scheme.forward(q, kv, kv, out, lse)) {
                    scheme.backward(saved, out, dq, dk, dv);
                }
                blocks[step] = ((CudaBackend) backend).pooledBlocks();
            }
            assertEquals(blocks[0], blocks[2], config + ": blocks made after steps 1..3: " + java.util.Arrays.toString(blocks));
        }
    }

    /** One forward and backward of the scheme on {@code backend}; the results as float64, in {@link #NAMES} order. */
    private static double[][] run(Backend backend, Communicator comm, Scheme config, AttentionShape shape,
                                  Tensor q, Tensor k, Tensor v, Tensor dout) {
        try (DeviceTensors mem = new DeviceTensors(backend)) {
            Tensor out = mem.poisoned(shape.dtype(), q.shape().toArray());
            Tensor lse = mem.poisoned(DType.F32, shape.seqLen(), shape.heads());
            Tensor dq = mem.poisoned(shape.dtype(), q.shape().toArray());
            Tensor dk = mem.poisoned(shape.dtype(), k.shape().toArray());
            Tensor dv = mem.poisoned(shape.dtype(), v.shape().toArray());
            SequenceParallelAttention scheme = config.attention(shape, backend, comm);
            try (var saved = scheme.forward(mem.upload(q), mem.upload(k), mem.upload(v), out, lse)) {
                scheme.backward(saved, mem.upload(dout), dq, dk, dv);
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
