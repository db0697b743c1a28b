package dev.longbow.testing;

import dev.longbow.backend.AttentionParams;
import dev.longbow.backend.BackendChoice;
import dev.longbow.comm.RankLauncher;
import dev.longbow.comm.RankMemory;
import dev.longbow.comm.local.LocalLauncher;
import dev.longbow.parallel.AttentionShape;
import dev.longbow.parallel.CallStats;
import dev.longbow.parallel.Scheme;
import dev.longbow.parallel.SequenceLayout;
import dev.longbow.parallel.SequenceParallelAttention;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Numerics;
import dev.longbow.tensor.Tensor;
import java.util.List;
import java.util.Random;

/**
 * One attention problem over a whole sequence: random inputs, the float64 single-rank reference,
 * and the machinery to run a scheme on P ranks (in-process CPU ranks, or any launcher's) and
 * gather its shards back in sequence order for comparison.
 */
public final class ShardedProblem {
    public final AttentionShape shape;
    final double[] q;
    final double[] k;
    final double[] v;
    final double[] dout;
    private ReferenceAttention.Output output;
    private ReferenceAttention.Gradients gradients;

    public ShardedProblem(AttentionShape shape, Random random) {
        this.shape = shape;
        this.q = gaussian(random, rows() * width("q"));
        this.k = gaussian(random, rows() * width("k"));
        this.v = gaussian(random, rows() * width("v"));
        this.dout = gaussian(random, rows() * width("q"));
    }

    @Override
    public String toString() {
        return (shape.causal() ? "causal " : "") + shape.dtype() + " S=" + shape.seqLen() + " Hq=" + shape.heads() + " Hkv=" + shape.kvHeads()
                + " D=" + shape.headDim();
    }

    /** Standard normal values as the input dtype holds them, so the reference sees what the ranks see. */
    private double[] gaussian(Random random, int n) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = Numerics.roundTo(shape.dtype(), (float) random.nextGaussian());
        }
        return a;
    }

    private int rows() {
        return Math.toIntExact(shape.seqLen());
    }

    /** Elements per token of a tensor called {@code name}. */
    int width(String name) {
        return switch (name) {
            case "k", "v", "dk", "dv" -> shape.kvHeads() * shape.headDim();
            case "lse" -> shape.heads();
            default -> shape.heads() * shape.headDim();
        };
    }

    /** The reference result for {@code name} in out, lse, dq, dk, dv (computed once). */
    synchronized double[] expected(String name) {
        if (output == null) {
            var dims = new ReferenceAttention.Dims(rows(), rows(), shape.heads(), shape.kvHeads(), shape.headDim());
            var params = AttentionParams.of(shape.headDim(), shape.causal());
            output = ReferenceAttention.forward(dims, params, q, k, v);
            gradients = ReferenceAttention.backward(dims, params, q, k, v, dout);
        }
        return switch (name) {
            case "out" -> output.out();
            case "lse" -> output.lse();
            case "dq" -> gradients.dq();
            case "dk" -> gradients.dk();
            case "dv" -> gradients.dv();
            default -> throw new IllegalArgumentException(name);
        };
    }

    /** What one rank produced: its call stats and its shards of the results, in local order. */
    public record RankResult(CallStats forward, CallStats backward, double[][] results) {
    }

    static final String[] RESULTS = {"out", "lse", "dq", "dk", "dv"};

    /** Runs {@code scheme} forward and backward on {@code ranks} in-process CPU ranks. */
    public List<RankResult> run(Scheme scheme, int ranks) {
        return run(scheme, ranks, new LocalLauncher(), BackendChoice.CPU);
    }

    /** Runs {@code scheme} forward and backward on {@code ranks} ranks of {@code launcher} on backend {@code backendName}. */
    public List<RankResult> run(Scheme scheme, int ranks, RankLauncher launcher, BackendChoice backendName) {
        SequenceLayout layout = scheme.layout();
        return launcher.run(ranks, backendName, (backend, comm) -> {
            try (RankMemory mem = new RankMemory(backend)) {
                int r = comm.rank();
                long n = shape.localLen(ranks);
                Tensor lq = mem.upload(shape.dtype(), local(q, "q", layout, r, ranks), n, shape.heads(), shape.headDim());
                Tensor lk = mem.upload(shape.dtype(), local(k, "k", layout, r, ranks), n, shape.kvHeads(), shape.headDim());
                Tensor lv = mem.upload(shape.dtype(), local(v, "v", layout, r, ranks), n, shape.kvHeads(), shape.headDim());
                Tensor ldout = mem.upload(shape.dtype(), local(dout, "q", layout, r, ranks), n, shape.heads(), shape.headDim());
                Tensor out = mem.zeros(shape.dtype(), n, shape.heads(), shape.headDim());
                Tensor lse = mem.zeros(DType.F32, n, shape.heads());
                Tensor dq = mem.zeros(shape.dtype(), n, shape.heads(), shape.headDim());
                Tensor dk = mem.zeros(shape.dtype(), n, shape.kvHeads(), shape.headDim());
                Tensor dv = mem.zeros(shape.dtype(), n, shape.kvHeads(), shape.headDim());
                CallStats forward;
                CallStats backward;
                try (SequenceParallelAttention attention = scheme.attention(shape, backend, comm);
                     var saved = attention.forward(lq, lk, lv, out, lse)) {
                    forward = attention.lastCall();
                    attention.backward(saved, ldout, dq, dk, dv);
                    backward = attention.lastCall();
                }
                double[][] results = new double[RESULTS.length][];
                Tensor[] tensors = {out, lse, dq, dk, dv};
                for (int i = 0; i < tensors.length; i++) {
                    float[] f = mem.download(tensors[i]);
                    results[i] = new double[f.length];
                    for (int e = 0; e < f.length; e++) {
                        results[i][e] = f[e];
                    }
                }
                return new RankResult(forward, backward, results);
            }
        });
    }

    /** The scheme's results put back in sequence order: result {@code index} of {@link #RESULTS}. */
    double[] gathered(List<RankResult> perRank, SequenceLayout layout, int index) {
        int w = width(RESULTS[index]);
        double[] all = new double[rows() * w];
        int ranks = perRank.size();
        for (int r = 0; r < ranks; r++) {
            double[] mine = perRank.get(r).results()[index];
            for (int i = 0; i < mine.length / w; i++) {
                int g = Math.toIntExact(layout.globalPosition(r, ranks, shape.seqLen(), i));
                System.arraycopy(mine, i * w, all, g * w, w);
            }
        }
        return all;
    }

    /** Fails unless every gathered result is within {@code tolerance} relative error of the reference. */
    public void assertMatches(String what, List<RankResult> perRank, SequenceLayout layout, double tolerance) {
        for (int i = 0; i < RESULTS.length; i++) {
            HostTensors.assertClose(what + " " + RESULTS[i], gathered(perRank, layout, i), expected(RESULTS[i]), tolerance);
        }
    }

    private float[] local(double[] global, String name, SequenceLayout layout, int rank, int ranks) {
        int w = width(name);
        long n = shape.localLen(ranks);
        float[] mine = new float[Math.toIntExact(n * w)];
        for (long i = 0; i < n; i++) {
            long g = layout.globalPosition(rank, ranks, shape.seqLen(), i);
            for (int e = 0; e < w; e++) {
                mine[Math.toIntExact(i * w + e)] = (float) global[Math.toIntExact(g * w + e)];
            }
        }
        return mine;
    }
}
