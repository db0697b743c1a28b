package dev.longbow.parallel;

import dev.longbow.backend.Backend;
import dev.longbow.backend.Pending;
import dev.longbow.comm.Communicator;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.IntStream;

/**
 * WallFacer (arXiv 2407.00611; v4 "StarTrail"): attention as an n-body problem with direct
 * interactions, computed like the 2.5D n-body algorithm. P ranks form P/C teams of C; the
 * sequence is zigzag-split over the teams and a rank holds 1/C of its team's share.
 *
 * <ol>
 *   <li>Each team all-gathers Q, K, V: every member holds the team's queries.</li>
 *   <li>The P/C teams fall into C groups of L = P/C^2 adjacent teams. Member {@code pos} of team
 *       (group g, index i) works on the K/V of group (g + pos) mod C: one placing transfer fetches
 *       the K/V of team ((g + pos) mod C, i).</li>
 *   <li>Members of equal position in one group form a sub-ring of length L (C^2 sub-rings run at
 *       once); L - 1 ring steps move K/V only, each posted before the current block is computed.</li>
 *   <li>The C members' partial outputs for the team's queries merge, weighted by their LSE, in an
 *       all-to-all inside the team followed by a local merge: a reduce-scatter back to S/P rows.</li>
 * </ol>
 * Backward turns the roles round: each member keeps its team's K/V and accumulates dK/dV in place
 * while Q, out, dO and LSE travel the same sub-rings, and the fp32 dQ sum follows one step behind
 * (overlapped with the next step's compute, as Ring's dK/dV); dQ returns home in one transfer and
 * the team reduce-scatters dQ, dK, dV.
 *
 * <p>Per rank (forward, h = heads x head dim, n = S/P): ring steps (L-1) C n K/V rows, i.e.
 * (P - C^2)/(C P) of the sequence's K/V; the placing transfer C n K/V rows on members pos != 0;
 * team collectives (C-1) n rows of each of Q, K, V and the fp32 partial output. C = 1 is Ring.
 */
public record WallFacer(int teamSize, Arrangement arrangement) implements Scheme {
    /** The name on the command line. */
    public static final String NAME = "wallfacer";

    /** The communication arrangement: whose members get consecutive ranks, i.e. sit on one node's fast links. */
    public enum Arrangement {
        /** Teams of C consecutive ranks: the team all-gathers and merges run on the fast links. */
        TEAMS_ADJACENT,
        /** Sub-rings of P/C^2 consecutive ranks: the ring steps run on the fast links. */
        RINGS_ADJACENT
    }

    /**
     * @param teamSize    C, at least 1 (C = 1 is plain Ring)
     * @param arrangement which of teams and sub-rings hold consecutive ranks
     */
    public WallFacer {
        if (teamSize < 1) {
            throw new IllegalArgumentException("WallFacer team size " + teamSize + " must be at least 1");
        }
        if (arrangement == null) {
            throw new IllegalArgumentException("WallFacer needs an arrangement: " + List.of(Arrangement.values()));
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void validate(int ranks, AttentionShape shape) {
        shape.localLen(ranks);
        int c = teamSize;
        if (ranks % c != 0) {
            throw new IllegalArgumentException("WallFacer team size " + c + " does not divide ranks " + ranks);
        }
        if ((long) c * c > ranks) {
            throw new IllegalArgumentException("WallFacer team size " + c + " exceeds sqrt(ranks " + ranks + ") (needs C <= sqrt(P))");
        }
        if (ranks % (c * c) != 0) {
            throw new IllegalArgumentException("WallFacer team size " + c + ": ranks " + ranks + " not divisible by C^2 = " + c * c
                    + " (the P/C^2 sub-rings must have whole length)");
        }
        Span.requireZigzag("WallFacer (teams of " + c + ")", shape.seqLen(), ranks / c);
    }

    /** The teams' shares are zigzag chunks; a member holds the part of its team's share at its position. */
    @Override
    public SequenceLayout layout() {
        int c = teamSize;
        Arrangement a = arrangement;
        return (rank, ranks, seqLen, i) -> {
            Seat s = Seat.of(rank, ranks, c, a);
            return SequenceLayout.ZIGZAG.globalPosition(s.team(ranks / (c * c)), ranks / c, seqLen, s.pos() * (seqLen / ranks) + i);
        };
    }

    @Override
    public SequenceParallelAttention attention(AttentionShape shape, Backend backend, Communicator comm) {
        return new Attention(this, shape, backend, comm);
    }

    @Override
    public CallSchedule schedule(int ranks, AttentionShape shape) {
        validate(ranks, shape);
        return WallFacerSchedule.of(shape, ranks, teamSize, arrangement);
    }

    /**
     * Bytes a rank sends around its sub-ring in one forward call of {@code shape} on {@code ranks}
     * ranks: P/C^2 - 1 steps of its team's K/V, the volume the paper's communication analysis
     * counts (without the placing transfer and the team collectives).
     */
    public long subRingBytes(int ranks, AttentionShape shape) {
        validate(ranks, shape);
        return WallFacerSchedule.ringBytesForward(shape, ranks, teamSize);
    }

    @Override
    public String settings(int ranks) {
        return "team size " + teamSize + ", sub-rings of " + ranks / (teamSize * teamSize) + ", "
                + (arrangement == Arrangement.TEAMS_ADJACENT ? "teams" : "sub-rings") + " adjacent";
    }

    /** Four of its team's shards per call (it gathers C of them); backward reads the caller's tensors, so nothing is kept. */
    @Override
    public long bufferBound(long shardBytes, int layersKept) {
        return 4L * teamSize * shardBytes;
    }

    /** Where a rank sits: group g of C, index i of L teams in the group, position in its team. */
    record Seat(int group, int index, int pos) {
        int team(int ringLen) {
            return group * ringLen + index;
        }

        static Seat of(int rank, int ranks, int c, Arrangement arrangement) {
            int ringLen = ranks / (c * c);
            return switch (arrangement) {
                case TEAMS_ADJACENT -> new Seat(rank / c / ringLen, rank / c % ringLen, rank % c);
                case RINGS_ADJACENT -> new Seat(rank / ringLen / c, rank % ringLen, rank / ringLen % c);
            };
        }

        int rank(int ranks, int c, Arrangement arrangement) {
            int ringLen = ranks / (c * c);
            return switch (arrangement) {
                case TEAMS_ADJACENT -> team(ringLen) * c + pos;
                case RINGS_ADJACENT -> (group * c + pos) * ringLen + index;
            };
        }
    }

    /** This rank's WallFacer attention: forward and backward in the four phases of the class comment. */
    static final class Attention extends RankAttention {
        private final int c;
        private final int teams;
        private final int ringLen;
        private final Seat me;
        private final Arrangement arrangement;
        private final Communicator team;
        private final BlockAttention attention;
        /** Team rows: the C shards of a team together. */
        private final long teamLen;

        Attention(WallFacer scheme, AttentionShape shape, Backend backend, Communicator comm) {
            super(scheme, shape, backend, comm);
            this.c = scheme.teamSize();
            this.teams = comm.size() / c;
            this.ringLen = comm.size() / (c * c);
            this.arrangement = scheme.arrangement();
            this.me = Seat.of(comm.rank(), comm.size(), c, arrangement);
            this.team = comm.split(me.team(ringLen), me.pos());
            this.attention = new BlockAttention(backend.attention(), params);
            this.teamLen = c * localLen;
        }

        @Override
        public void close() {
            team.close();
        }

        private int rankAt(int group, int index) {
            return new Seat(Math.floorMod(group, c), Math.floorMod(index, ringLen), me.pos()).rank(comm.size(), c, arrangement);
        }

        /** The team whose block this rank works on at ring step j (its sub-ring serves group g + pos). */
        private List<Span> blockAt(int step) {
            int u = Math.floorMod(me.group() + me.pos(), c) * ringLen + Math.floorMod(me.index() - step, ringLen);
            return Span.zigzag(u, teams, shape.seqLen());
        }

        /** The positions of this rank's team's rows. */
        private List<Span> teamRows() {
            return Span.zigzag(me.team(ringLen), teams, shape.seqLen());
        }

        /** Blocks this rank receives in a pass: the placing one (members at pos > 0), then L - 1 around the sub-ring. */
        private int transfers() {
            return (me.pos() != 0 ? 1 : 0) + ringLen - 1;
        }

        /** Where phase 2 places from and to: the member of equal position in the group pos ahead, and pos behind. */
        private int placedFrom() {
            return rankAt(me.group() + me.pos(), me.index());
        }

        private int placedTo() {
            return rankAt(me.group() - me.pos(), me.index());
        }

        /** Receive buffers used in turn: each transfer lands in the one the previous transfer did not. */
        private static final class Turns<T> {
            private final List<T> slots;
            private int taken;

            Turns(List<T> slots) {
                this.slots = slots;
            }

            T next() {
                return slots.get(taken++ % slots.size());
            }
        }

        /**
         * Forward's buffers: the team's gathered queries and K/V, slots for the K/V blocks received,
         * the fp32 running result and one block's fp32 result for the team's rows, and the fp32
         * merged result of this rank's rows when the caller's output is not fp32 (else null).
         */
        private record ForwardBuffers(Slab slab, Tensor q, KeyValue kv, List<KeyValue> received, AttentionOut acc, AttentionOut part,
                                      Tensor merged) implements AutoCloseable {
            @Override
            public void close() {
                slab.close();
            }
        }

        private ForwardBuffers forwardBuffers(CallMeter meter, boolean outIsF32) {
            long d = shape.headDim();
            int hq = shape.heads();
            int hkv = shape.kvHeads();
            Slab.Builder b = Slab.builder().add("q", shape.dtype(), teamLen, hq, d);
            KeyValue.declare(b, "", shape.dtype(), teamLen, hkv, d);
            int slots = Math.min(2, transfers());
            for (int i = 0; i < slots; i++) {
                KeyValue.declare(b, "" + i, shape.dtype(), teamLen, hkv, d);
            }
            b.add("out", DType.F32, teamLen, hq, d).add("lse", DType.F32, teamLen, hq);
            b.add("partOut", DType.F32, teamLen, hq, d).add("partLse", DType.F32, teamLen, hq);
            if (!outIsF32) {
                b.add("merged", DType.F32, localLen, hq, d);
            }
            Slab s = meter.device(backend, b);
            return new ForwardBuffers(s, s.get("q"), KeyValue.in(s, ""), IntStream.range(0, slots).mapToObj(i -> KeyValue.in(s, "" + i)).toList(),
                    new AttentionOut(s.get("out"), s.get("lse")), new AttentionOut(s.get("partOut"), s.get("partLse")),
                    outIsF32 ? null : s.get("merged"));
        }

        @Override
        public Saved forward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
            checkForward(q, k, v, out, lse);
            CallMeter meter = new CallMeter(List.of(comm, team));
            try (ForwardBuffers w = forwardBuffers(meter, out.dtype() == DType.F32)) {
                gather(q, new KeyValue(k, v), w);
                w.acc().clear(ops);
                Turns<KeyValue> received = new Turns<>(w.received());
                KeyValue block = place(w.kv(), received);
                ring(w, block, received);
                merge(w, new AttentionOut(out, lse));
            }
            record(meter);
            return issue(new ShardInputs(q, new KeyValue(k, v), new AttentionOut(out, lse)));
        }

        /** Forward phase 1: the team all-gathers its queries and K/V. */
        private void gather(Tensor q, KeyValue kv, ForwardBuffers w) {
            team.allGather(q, w.q());
            team.allGather(kv.k(), w.kv().k());
            team.allGather(kv.v(), w.kv().v());
        }

        /** Forward phase 2: a member at pos > 0 fetches the K/V of the team its sub-ring starts from. */
        private KeyValue place(KeyValue own, Turns<KeyValue> received) {
            if (me.pos() == 0) {
                return own;
            }
            KeyValue placed = received.next();
            own.sendRecv(comm, placedTo(), placed, placedFrom()).await();
            return placed;
        }

        /** Forward phase 3: L - 1 sub-ring steps move K/V, each posted before the block in hand is computed. */
        private void ring(ForwardBuffers w, KeyValue first, Turns<KeyValue> received) {
            List<Span> queries = teamRows();
            int to = rankAt(me.group(), me.index() + 1);
            int from = rankAt(me.group(), me.index() - 1);
            KeyValue block = first;
            for (int step = 0; step < ringLen; step++) {
                KeyValue next = step < ringLen - 1 ? received.next() : null;
                Pending arriving = next == null ? Pending.DONE : block.sendRecv(comm, to, next, from);
                attention.forward(w.q(), queries, block, blockAt(step), w.acc(), w.part());
                arriving.await();
                block = next;
            }
        }

        /**
         * Forward phase 4: member j's partial result for this rank's rows arrives as block j of an
         * all-to-all (into the spent block buffers), and the C partials merge by their LSE.
         */
        private void merge(ForwardBuffers w, AttentionOut mine) {
            AttentionOut partials = w.part();
            team.allToAll(w.acc().out(), partials.out());
            team.allToAll(w.acc().lse(), partials.lse());
            AttentionOut merged = new AttentionOut(w.merged() != null ? w.merged() : mine.out(), mine.lse());
            merged.clear(ops);
            for (int j = 0; j < c; j++) {
                AttentionOut partial = partials.rows(j * localLen, localLen);
                backend.attention().merge(merged.out(), merged.lse(), partial.out(), partial.lse());
            }
            store(merged.out(), mine.out());
        }

        /**
         * Backward's buffers: the team's K/V and its fp32 dK/dV, the team's own query side and slots
         * for those received, the rotating fp32 dQ slots (this step's block, the one being sent, the
         * one arriving; two when there is no ring to send around), and the fp32 gradients of this
         * rank's rows after the team's reduce-scatter.
         */
        private record BackwardBuffers(Slab slab, KeyValue kv, KeyValue dkv, Queries own, List<Queries> received, List<Tensor> dq,
                                       Gradients mine) implements AutoCloseable {
            @Override
            public void close() {
                slab.close();
            }
        }

        private BackwardBuffers backwardBuffers(CallMeter meter) {
            long d = shape.headDim();
            int hq = shape.heads();
            int hkv = shape.kvHeads();
            Slab.Builder b = Slab.builder();
            KeyValue.declare(b, "", shape.dtype(), teamLen, hkv, d);
            KeyValue.declare(b, "d", DType.F32, teamLen, hkv, d);
            // Slots 0 and 1 receive the travelling query sides, 2 is the team's own.
            int slots = Math.min(2, transfers());
            List<String> sides = new ArrayList<>();
            IntStream.range(0, slots).forEach(i -> sides.add("" + i));
            sides.add("own");
            for (String side : sides) {
                b.add("q" + side, shape.dtype(), teamLen, hq, d).add("out" + side, shape.dtype(), teamLen, hq, d)
                        .add("dout" + side, shape.dtype(), teamLen, hq, d).add("lse" + side, DType.F32, teamLen, hq);
            }
            int dqSlots = ringLen > 1 ? 3 : 2;
            for (int i = 0; i < dqSlots; i++) {
                b.add("dq" + i, DType.F32, teamLen, hq, d);
            }
            b.add("dqMine", DType.F32, localLen, hq, d);
            KeyValue.declare(b, "dMine", DType.F32, localLen, hkv, d);
            Slab s = meter.device(backend, b);
            Function<String, Queries> side = name -> new Queries(s.get("q" + name), s.get("out" + name), s.get("lse" + name),
                    s.get("dout" + name));
            return new BackwardBuffers(s, KeyValue.in(s, ""), KeyValue.in(s, "d"), side.apply("own"),
                    sides.subList(0, slots).stream().map(side).toList(), IntStream.range(0, dqSlots).mapToObj(i -> s.get("dq" + i)).toList(),
                    new Gradients(s.get("dqMine"), KeyValue.in(s, "dMine")));
        }

        @Override
        public void backward(Saved saved, Tensor dout, Tensor dq, Tensor dk, Tensor dv) {
            checkBackward(dout, dq, dk, dv);
            ShardInputs in = spend(saved, ShardInputs.class);
            CallMeter meter = new CallMeter(List.of(comm, team));
            try (BackwardBuffers w = backwardBuffers(meter)) {
                gather(in, dout, w);
                Turns<Queries> received = new Turns<>(w.received());
                Queries bundle = place(w.own(), received);
                Tensor dqSum = ring(w, bundle, received);
                reduceScatter(w, dqSum, new Gradients(dq, new KeyValue(dk, dv)));
            }
            record(meter);
        }

        /** Backward phase 1: the team all-gathers K/V and the query side (q, out, dO, LSE); dK/dV start at zero. */
        private void gather(ShardInputs in, Tensor dout, BackwardBuffers w) {
            team.allGather(in.kv().k(), w.kv().k());
            team.allGather(in.kv().v(), w.kv().v());
            team.allGather(in.q(), w.own().q());
            team.allGather(in.result().out(), w.own().out());
            team.allGather(dout, w.own().dout());
            team.allGather(in.result().lse(), w.own().lse());
            w.dkv().fill(ops, 0f);
        }

        /** Backward phase 2: a member at pos > 0 fetches the query side of the team its sub-ring starts from. */
        private Queries place(Queries own, Turns<Queries> received) {
            if (me.pos() == 0) {
                return own;
            }
            Queries placed = received.next();
            own.sendRecv(comm, placedTo(), placed, placedFrom()).await();
            return placed;
        }

        /**
         * Backward phase 3: the query sides travel the sub-ring while this rank adds each one's dK/dV
         * to its team's; each side's fp32 dQ sum follows it one step behind, and the last goes
         * straight home to the member that placed the side. Returns the dQ sum of the team's own
         * queries, once arrived.
         */
        private Tensor ring(BackwardBuffers w, Queries first, Turns<Queries> received) {
            List<Span> keys = teamRows();
            int to = rankAt(me.group(), me.index() + 1);
            int from = rankAt(me.group(), me.index() - 1);
            int dqSlots = w.dq().size();
            Queries bundle = first;
            Tensor arrivedDq = null;
            Pending dqArriving = Pending.DONE;
            for (int step = 0; step < ringLen; step++) {
                Queries next = step < ringLen - 1 ? received.next() : null;
                Pending arriving = next == null ? Pending.DONE : bundle.sendRecv(comm, to, next, from);
                Tensor dqBlock = w.dq().get(step % dqSlots);
                ops.fill(dqBlock, 0f);
                attention.backward(bundle, blockAt(step), w.kv(), keys, new Gradients(dqBlock, w.dkv()));
                if (step > 0) {
                    // The side's dQ so far travelled while this step computed, as Ring's dK/dV do.
                    dqArriving.await();
                    ops.axpy(1f, arrivedDq, dqBlock);
                }
                boolean last = step == ringLen - 1;
                arrivedDq = w.dq().get((step + dqSlots - 1) % dqSlots);
                dqArriving = comm.sendRecv(dqBlock, last ? rankAt(me.group() + me.pos(), me.index() + 1) : to,
                        arrivedDq, last ? rankAt(me.group() - me.pos(), me.index() - 1) : from);
                arriving.await();
                bundle = next;
            }
            dqArriving.await();
            return arrivedDq;
        }

        /** Backward phase 4: the team reduce-scatters dQ, dK, dV to this rank's rows, in the caller's dtype. */
        private void reduceScatter(BackwardBuffers w, Tensor dqSum, Gradients into) {
            team.reduceScatter(dqSum, w.mine().dq());
            team.reduceScatter(w.dkv().k(), w.mine().dkv().k());
            team.reduceScatter(w.dkv().v(), w.mine().dkv().v());
            ops.convert(w.mine().dq(), into.dq());
            ops.convert(w.mine().dkv().k(), into.dkv().k());
            ops.convert(w.mine().dkv().v(), into.dkv().v());
        }
    }
}
