package dev.longbow.examples;

import dev.longbow.backend.BackendChoice;
import dev.longbow.comm.RankLaunchers;
import dev.longbow.parallel.AttentionBuffers;
import dev.longbow.parallel.AttentionShape;
import dev.longbow.parallel.Ring;
import dev.longbow.parallel.Scheme;
import dev.longbow.parallel.SequenceParallelAttention;
import java.util.List;
import java.util.Random;

/** Ring attention over 4 ranks (threads of this JVM, CPU backend), checked against attention on one device. */
public final class AttentionAcrossRanks {
    public static void main(String[] args) {
        int ranks = 4;
        AttentionShape shape = AttentionShape.of(512, 4, 32);   // 512 tokens, 4 heads of 32, causal fp32
        Scheme scheme = new Ring();
        float[] q = random(shape.seqLen() * shape.queryWidth(), 1);
        float[] k = random(shape.seqLen() * shape.kvWidth(), 2);
        float[] v = random(shape.seqLen() * shape.kvWidth(), 3);

        // Each rank uploads its shard of q, k, v (in the scheme's layout), runs forward, downloads its rows of out.
        List<float[]> shards = RankLaunchers.run(ranks, BackendChoice.CPU, (backend, comm) -> {
            int rank = comm.rank();
            try (SequenceParallelAttention attention = scheme.attention(shape, backend, comm);
                 AttentionBuffers b = AttentionBuffers.allocate(backend, shape, shape.localLen(ranks))) {
                backend.upload(scheme.layout().shard(q, shape.seqLen(), rank, ranks), b.q());
                backend.upload(scheme.layout().shard(k, shape.seqLen(), rank, ranks), b.k());
                backend.upload(scheme.layout().shard(v, shape.seqLen(), rank, ranks), b.v());
                b.forward(attention).close();
                return backend.download(b.out());
            }
        });
        float[] out = scheme.layout().gather(shards, shape.seqLen());

        // The reference: the whole sequence's attention on one device.
        float[] expected;
        try (var backend = BackendChoice.CPU.open(0);
             AttentionBuffers whole = AttentionBuffers.allocate(backend, shape, shape.seqLen())) {
            backend.upload(q, whole.q());
            backend.upload(k, whole.k());
            backend.upload(v, whole.v());
            whole.forwardWhole();
            expected = backend.download(whole.out());
        }
        double worst = 0;
        for (int i = 0; i < out.length; i++) {
            worst = Math.max(worst, Math.abs(out[i] - expected[i]));
        }
        System.out.printf("%s on %d ranks: largest difference from single-device attention %.2e%n", scheme.name(), ranks, worst);
        if (worst > 1e-4) {
            throw new AssertionError("ring attention differs from single-device attention by " + worst);
        }
    }

    private static float[] random(long n, long seed) {
        Random r = new Random(seed);
        float[] a = new float[Math.toIntExact(n)];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }
}
