package dev.longbow.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.longbow.backend.Backend;
import dev.longbow.comm.local.LocalRanks;
import dev.longbow.parallel.AttentionShape;
import dev.longbow.parallel.CallSchedule;
import dev.longbow.parallel.CallStats;
import dev.longbow.parallel.Fpdt;
import dev.longbow.parallel.Hybrid;
import dev.longbow.parallel.Ring;
import dev.longbow.parallel.Scheme;
import dev.longbow.parallel.SequenceParallelAttention;
import dev.longbow.parallel.Ulysses;
import dev.longbow.parallel.WallFacer;
import dev.longbow.parallel.WallFacer.Arrangement;
import dev.longbow.tensor.Allocation;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToLongFunction;
import org.junit.jupiter.api.Test;

/**
 * The schemes' schedules, priced, send the bytes per rank that the schemes measurably send when
 * they run (on CPU ranks, which count every transfer), and declare the buffer memory per call
 * that their slabs allocate: the planner prices the schedule Longbow executes. For WallFacer the model prices a member
 * at position > 0, the one that also makes the placing transfers and holds their buffers, so it is
 * compared with the rank that sends and holds the most.
 */
class ModelTrafficTest {
    private static final int HEADS = 8;
    private static final int HEAD_DIM = 64;
    private static final long SEQ = 128;

    private static void assertModelCounts(int ranks, Scheme scheme) {
        AttentionShape shape = new AttentionShape(SEQ, HEADS, HEADS, HEAD_DIM, DType.F32, true);
        List<CallStats[]> calls = LocalRanks.run(ranks, "cpu", (backend, comm) -> {
            try (SequenceParallelAttention attention = scheme.attention(shape, backend, comm);
                 Buffers b = new Buffers(backend, shape.localLen(ranks))) {
                CallStats[] stats = new CallStats[2];
                try (SequenceParallelAttention.Saved saved = attention.forward(b.q, b.k, b.v, b.out, b.lse)) {
                    stats[0] = attention.lastCall();
                    attention.backward(saved, b.dout, b.dq, b.dk, b.dv);
                    stats[1] = attention.lastCall();
                }
                return stats;
            }
        });
        ClusterSpec cpu = ClusterSpec.cpu(ranks, 1L << 34, 1e9, 1e-6, 1e9, AttentionRates.constant(1e9, 1e9));
        CallSchedule schedule = scheme.schedule(ranks, shape);
        SchedulePricer.Priced pass = new SchedulePricer(cpu).price(schedule);
        String what = scheme.name() + " (" + scheme.settings(ranks) + "): ";
        assertEquals(max(calls, s -> s[0].traffic().bytesSent()), pass.forward().bytesSent(), 0.5, what + "forward bytes sent, measured vs model");
        assertEquals(max(calls, s -> s[1].traffic().bytesSent()), pass.backward().bytesSent(), 0.5, what + "backward bytes sent, measured vs model");
        assertEquals(max(calls, s -> device(s[0])), schedule.forwardDeviceBytes(), what + "forward device buffers, allocated vs schedule");
        assertEquals(max(calls, s -> device(s[1])), schedule.backwardDeviceBytes(), what + "backward device buffers, allocated vs schedule");
        assertEquals(max(calls, s -> s[1].hostBufferBytes()), schedule.hostBytes(), what + "host buffers, allocated vs schedule");
    }

    private static long max(List<CallStats[]> calls, ToLongFunction<CallStats[]> measure) {
        return calls.stream().mapToLong(measure).max().orElseThrow();
    }

    private static long device(CallStats s) {
        return s.peakBufferBytes() - s.hostBufferBytes();
    }

    @Test
    void ringAndHybrid() {
        assertModelCounts(8, new Ring());
        assertModelCounts(8, new Hybrid(2));
    }

    @Test
    void wallFacerInBothArrangements() {
        assertModelCounts(16, new WallFacer(2, Arrangement.TEAMS_ADJACENT));
        assertModelCounts(16, new WallFacer(2, Arrangement.RINGS_ADJACENT));
        assertModelCounts(16, new WallFacer(4, Arrangement.TEAMS_ADJACENT));
    }

    @Test
    void ulyssesAndFpdt() {
        assertModelCounts(8, new Ulysses());
        // chunks of 16 tokens per rank: two per rank's 32
        assertModelCounts(4, new Fpdt(16));
    }

    /** Zeroed f32 shards of one rank: the bytes moved do not depend on the values. */
    private static final class Buffers implements AutoCloseable {
        private final List<Allocation> owned = new ArrayList<>();
        private final Backend backend;
        final Tensor q;
        final Tensor k;
        final Tensor v;
        final Tensor out;
        final Tensor lse;
        final Tensor dout;
        final Tensor dq;
        final Tensor dk;
        final Tensor dv;

        Buffers(Backend backend, long n) {
            this.backend = backend;
            q = tensor(n, HEADS, HEAD_DIM);
            k = tensor(n, HEADS, HEAD_DIM);
            v = tensor(n, HEADS, HEAD_DIM);
            out = tensor(n, HEADS, HEAD_DIM);
            lse = tensor(n, HEADS);
            dout = tensor(n, HEADS, HEAD_DIM);
            dq = tensor(n, HEADS, HEAD_DIM);
            dk = tensor(n, HEADS, HEAD_DIM);
            dv = tensor(n, HEADS, HEAD_DIM);
        }

        private Tensor tensor(long... dims) {
            Shape shape = Shape.of(dims);
            Allocation a = backend.allocate(shape.numel() * DType.F32.byteSize());
            owned.add(a);
            Tensor t = new Tensor(a.segment(), DType.F32, shape, a.placement());
            backend.tensors().fill(t, 0f);
            return t;
        }

        @Override
        public void close() {
            owned.forEach(Allocation::close);
        }
    }
}
