package dev.longbow.tornado.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.longbow.comm.RankLaunchers;
import dev.longbow.comm.RankMemory;
import dev.longbow.parallel.AttentionShape;
import dev.longbow.parallel.Fpdt;
import dev.longbow.parallel.Hybrid;
import dev.longbow.parallel.Ring;
import dev.longbow.parallel.Scheme;
import dev.longbow.parallel.Ulysses;
import dev.longbow.parallel.WallFacer.Arrangement;
import dev.longbow.parallel.SequenceLayout;
import dev.longbow.parallel.SequenceParallelAttention;
import dev.longbow.parallel.WallFacer;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Tensor;
import dev.longbow.testing.HostTensors;
import dev.longbow.tornado.TornadoLauncher;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every sequence-parallel scheme, forward and backward, on 2 and 4 in-process ranks of the
 * tornado backend (through its launcher, which keeps host views coherent at communication
 * points) gives the results the same scheme gives on the CPU backend: out, lse, dq, dk, dv
 * gathered in sequence order within 1e-4 relative error.
 */
class TornadoSchemesTest {
    private static final long SEED = HostTensors.seed("TornadoSchemesTest");
    private static final AttentionShape SHAPE = new AttentionShape(64, 4, 2, 32, DType.F32, true);
    private static final String[] RESULTS = {"out", "lse", "dq", "dk", "dv"};

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (int ranks : new int[] {2, 4}) {
            int local = Math.toIntExact(SHAPE.localLen(ranks));
            for (Scheme config : List.of(
                    new Ulysses(),
                    new Ring(),
                    new WallFacer(ranks == 4 ? 2 : 1, Arrangement.TEAMS_ADJACENT),
                    new Fpdt(local / 4),
                    new Hybrid(2))) {
                cases.add(Arguments.of(config, ranks, true));
            }
        }
        cases.add(Arguments.of(new Ring(), 4, false));
        return cases.stream();
    }

    @Test
    void tornadoRanksRunOnTheTornadoLauncher() {
        assertEquals(TornadoLauncher.NAME, RankLaunchers.forBackend("tornado").name());
    }

    @ParameterizedTest(name = "{0} on {1} ranks, causal {2}")
    @MethodSource("cases")
    void schemeMatchesTheCpuBackend(Scheme config, int ranks, boolean causal) {
        Random random = new Random(SEED + 31L * ranks + config.toString().hashCode());
        double[][] inputs = new double[4][];
        for (int i = 0; i < inputs.length; i++) {
            inputs[i] = new double[Math.toIntExact(SHAPE.seqLen()) * width(i == 1 || i == 2 ? "k" : "q")];
            for (int e = 0; e < inputs[i].length; e++) {
                inputs[i][e] = (float) random.nextGaussian();
            }
        }
        SequenceLayout layout = config.layout();
        AttentionShape shape = new AttentionShape(SHAPE.seqLen(), SHAPE.heads(), SHAPE.kvHeads(), SHAPE.headDim(), SHAPE.dtype(), causal);
        List<double[][]> onTornado = run(config, shape, ranks, "tornado", inputs);
        List<double[][]> onCpu = run(config, shape, ranks, "cpu", inputs);
        for (int i = 0; i < RESULTS.length; i++) {
            HostTensors.assertClose(config + " " + RESULTS[i], gathered(onTornado, layout, i), gathered(onCpu, layout, i), 1e-4);
        }
    }

    /** Runs the scheme forward and backward on {@code shape} (SHAPE's extents); per rank, its shards of out, lse, dq, dk, dv. */
    private static List<double[][]> run(Scheme config, AttentionShape shape, int ranks, String backendName, double[][] inputs) {
        SequenceLayout layout = config.layout();
        return RankLaunchers.run(ranks, backendName, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                int r = comm.rank();
                long n = SHAPE.localLen(ranks);
                Tensor q = mem.upload(DType.F32, local(inputs[0], "q", layout, r, ranks), n, SHAPE.heads(), SHAPE.headDim());
                Tensor k = mem.upload(DType.F32, local(inputs[1], "k", layout, r, ranks), n, SHAPE.kvHeads(), SHAPE.headDim());
                Tensor v = mem.upload(DType.F32, local(inputs[2], "v", layout, r, ranks), n, SHAPE.kvHeads(), SHAPE.headDim());
                Tensor dout = mem.upload(DType.F32, local(inputs[3], "q", layout, r, ranks), n, SHAPE.heads(), SHAPE.headDim());
                Tensor[] results = {
                    mem.zeros(DType.F32, n, SHAPE.heads(), SHAPE.headDim()), mem.zeros(DType.F32, n, SHAPE.heads()),
                    mem.zeros(DType.F32, n, SHAPE.heads(), SHAPE.headDim()), mem.zeros(DType.F32, n, SHAPE.kvHeads(), SHAPE.headDim()),
                    mem.zeros(DType.F32, n, SHAPE.kvHeads(), SHAPE.headDim())};
                try (SequenceParallelAttention scheme = config.attention(shape, backend, comm);
                     var saved = scheme.forward(q, k, v, results[0], results[1])) {
                    scheme.backward(saved, dout, results[2], results[3], results[4]);
                }
                double[][] mine = new double[results.length][];
                for (int i = 0; i < results.length; i++) {
                    float[] f = mem.download(results[i]);
                    mine[i] = new double[f.length];
                    for (int e = 0; e < f.length; e++) {
                        mine[i][e] = f[e];
                    }
                }
                return mine;
            }
        });
    }

    private static int width(String name) {
        return switch (name) {
            case "k", "v", "dk", "dv" -> SHAPE.kvHeads() * SHAPE.headDim();
            case "lse" -> SHAPE.heads();
            default -> SHAPE.heads() * SHAPE.headDim();
        };
    }

    private static float[] local(double[] global, String name, SequenceLayout layout, int rank, int ranks) {
        int w = width(name);
        int n = Math.toIntExact(SHAPE.localLen(ranks));
        float[] mine = new float[n * w];
        for (int i = 0; i < n; i++) {
            long g = layout.globalPosition(rank, ranks, SHAPE.seqLen(), i);
            for (int e = 0; e < w; e++) {
                mine[i * w + e] = (float) global[Math.toIntExact(g * w + e)];
            }
        }
        return mine;
    }

    private static double[] gathered(List<double[][]> perRank, SequenceLayout layout, int result) {
        int w = width(RESULTS[result]);
        double[] all = new double[Math.toIntExact(SHAPE.seqLen()) * w];
        for (int r = 0; r < perRank.size(); r++) {
            double[] mine = perRank.get(r)[result];
            for (int i = 0; i < mine.length / w; i++) {
                int g = Math.toIntExact(layout.globalPosition(r, perRank.size(), SHAPE.seqLen(), i));
                System.arraycopy(mine, i * w, all, g * w, w);
            }
        }
        return all;
    }
}
