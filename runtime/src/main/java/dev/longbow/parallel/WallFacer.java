package dev.longbow.parallel;

import dev.longbow.backend.Backend;
import dev.longbow.backend.Pending;
import dev.longbow.comm.Communicator;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;
import java.util.List;

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

    static final class Attention extends RankAttention {
        private final int c;
        private final int teams;
        private final int ringLen;
        private final Seat me;
        private final Arrangement arrangement;
        private final Communicator team;
        private final BlockAttention attention;

        Attention(WallFacer scheme, AttentionShape shape, Backend backend, Communicator comm) {
            super(scheme, shape, backend, comm);
            this.c = scheme.teamSize();
            this.teams = comm.size() / c;
            this.ringLen = comm.size() / (c * c);
            this.arrangement = scheme.arrangement();
            this.me = Seat.of(comm.rank(), comm.size(), c, arrangement);
            this.team = comm.split(me.team(ringLen), me.pos());
            this.attention = new BlockAttention(backend.attention(), params);
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

        private int transfers() {
            return (me.pos() != 0 ? 1 : 0) + ringLen - 1;
        }

        private Slab.Builder rows(Slab.Builder b, String name, DType dtype, long rows, long heads) {
            return b.add(name, dtype, rows, heads, shape.headDim());
        }

        @Override
        public Saved forward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
            checkForward(q, k, v, out, lse);
            CallMeter meter = new CallMeter(List.of(comm, team));
            long m = c * n;
            int hq = shape.heads();
            int hkv = shape.kvHeads();
            Slab.Builder declared = Slab.builder();
            rows(declared, "q", shape.dtype(), m, hq);
            rows(declared, "k", shape.dtype(), m, hkv);
            rows(declared, "v", shape.dtype(), m, hkv);
            for (int i = 0; i < Math.min(2, transfers()); i++) {
                rows(declared, "k" + i, shape.dtype(), m, hkv);
                rows(declared, "v" + i, shape.dtype(), m, hkv);
            }
            rows(declared, "out", DType.F32, m, hq).add("lse", DType.F32, m, hq);
            rows(declared, "partOut", DType.F32, m, hq).add("partLse", DType.F32, m, hq);
            boolean outIsF32 = out.dtype() == DType.F32;
            if (!outIsF32) {
                rows(declared, "final", DType.F32, n, hq);
            }
            try (Slab w = meter.device(backend, declared)) {
                team.allGather(q, w.get("q"));
                team.allGather(k, w.get("k"));
                team.allGather(v, w.get("v"));
                Tensor accOut = w.get("out");
                Tensor accLse = w.get("lse");
                ops.fill(accOut, 0f);
                ops.fill(accLse, Float.NEGATIVE_INFINITY);

                KeyValue block = new KeyValue(w.get("k"), w.get("v"));
                int slot = 0;
                if (me.pos() != 0) {
                    KeyValue placed = KeyValue.of(w, "", slot);
                    block.sendRecv(comm, rankAt(me.group() - me.pos(), me.index()), placed, rankAt(me.group() + me.pos(), me.index())).await();
                    block = placed;
                    slot ^= 1;
                }
                List<Span> queries = Span.zigzag(me.team(ringLen), teams, shape.seqLen());
                int to = rankAt(me.group(), me.index() + 1);
                int from = rankAt(me.group(), me.index() - 1);
                for (int step = 0; step < ringLen; step++) {
                    KeyValue next = step < ringLen - 1 ? KeyValue.of(w, "", slot) : null;
                    Pending arriving = next == null ? Pending.DONE : block.sendRecv(comm, to, next, from);
                    slot ^= 1;
                    attention.forward(w.get("q"), queries, block.k(), block.v(), blockAt(step), accOut, accLse, w.get("partOut"), w.get("partLse"));
                    arriving.await();
                    block = next;
                }

                // Member j's partial for my rows arrives as block j (into the spent part buffers);
                // merge the C partials by their LSE.
                Tensor partials = w.get("partOut");
                Tensor partialLse = w.get("partLse");
                team.allToAll(accOut, partials);
                team.allToAll(accLse, partialLse);
                Tensor result = outIsF32 ? out : w.get("final");
                ops.fill(result, 0f);
                ops.fill(lse, Float.NEGATIVE_INFINITY);
                for (int j = 0; j < c; j++) {
                    backend.attention().merge(result, lse, partials.rows(j * n, n), partialLse.rows(j * n, n));
                }
                store(result, out);
            }
            record(meter);
            return issue(new ShardInputs(q, k, v, out, lse));
        }

        @Override
        public void backward(Saved saved, Tensor dout, Tensor dq, Tensor dk, Tensor dv) {
            checkBackward(dout, dq, dk, dv);
            ShardInputs in = spend(saved, ShardInputs.class);
            CallMeter meter = new CallMeter(List.of(comm, team));
            long m = c * n;
            int hq = shape.heads();
            int hkv = shape.kvHeads();
            Slab.Builder declared = Slab.builder();
            rows(declared, "k", shape.dtype(), m, hkv);
            rows(declared, "v", shape.dtype(), m, hkv);
            rows(declared, "dk", DType.F32, m, hkv);
            rows(declared, "dv", DType.F32, m, hkv);
            // Bundle 2 is the team's own queries; 0 and 1 receive the travelling ones.
            for (int i = 0; i < 3; i++) {
                if (i < 2 && i >= transfers()) {
                    continue;
                }
                rows(declared, "q" + i, shape.dtype(), m, hq);
                rows(declared, "out" + i, shape.dtype(), m, hq);
                rows(declared, "dout" + i, shape.dtype(), m, hq);
                declared.add("lse" + i, DType.F32, m, hq);
            }
            // fp32 dQ slots rotate like Ring's dK/dV: this step's block, the one being sent, the one arriving.
            int dqSlots = ringLen > 1 ? 3 : 2;
            for (int i = 0; i < dqSlots; i++) {
                rows(declared, "dq" + i, DType.F32, m, hq);
            }
            rows(declared, "dqMine", DType.F32, n, hq);
            rows(declared, "dkMine", DType.F32, n, hkv);
            rows(declared, "dvMine", DType.F32, n, hkv);
            try (Slab w = meter.device(backend, declared)) {
                team.allGather(in.k(), w.get("k"));
                team.allGather(in.v(), w.get("v"));
                team.allGather(in.q(), w.get("q2"));
                team.allGather(in.out(), w.get("out2"));
                team.allGather(dout, w.get("dout2"));
                team.allGather(in.lse(), w.get("lse2"));
                ops.fill(w.get("dk"), 0f);
                ops.fill(w.get("dv"), 0f);

                Bundle cur = Bundle.of(w, 2);
                int slot = 0;
                if (me.pos() != 0) {
                    Bundle placed = Bundle.of(w, slot);
                    cur.sendTo(placed, comm, rankAt(me.group() - me.pos(), me.index()), rankAt(me.group() + me.pos(), me.index())).await();
                    cur = placed;
                    slot ^= 1;
                }
                List<Span> keys = Span.zigzag(me.team(ringLen), teams, shape.seqLen());
                int to = rankAt(me.group(), me.index() + 1);
                int from = rankAt(me.group(), me.index() - 1);
                Tensor arrivedDq = null;
                Pending dqArriving = Pending.DONE;
                for (int step = 0; step < ringLen; step++) {
                    Pending arriving = Pending.DONE;
                    Bundle next = null;
                    if (step < ringLen - 1) {
                        next = Bundle.of(w, slot);
                        arriving = cur.sendTo(next, comm, to, from);
                        slot ^= 1;
                    }
                    Tensor dqBlock = w.get("dq" + step % dqSlots);
                    ops.fill(dqBlock, 0f);
                    attention.backward(cur.q, blockAt(step), w.get("k"), w.get("v"), keys, cur.out, cur.lse, cur.dout,
                            dqBlock, w.get("dk"), w.get("dv"));
                    if (step > 0) {
                        // The bundle's dQ so far travelled while this step computed, as Ring's dK/dV do.
                        dqArriving.await();
                        ops.axpy(1f, arrivedDq, dqBlock);
                    }
                    // dQ follows its bundle one step behind; the last goes straight to the member that
                    // placed it, and ours comes back likewise.
                    boolean last = step == ringLen - 1;
                    arrivedDq = w.get("dq" + (step + dqSlots - 1) % dqSlots);
                    dqArriving = comm.sendRecv(dqBlock, last ? rankAt(me.group() + me.pos(), me.index() + 1) : to,
                            arrivedDq, last ? rankAt(me.group() - me.pos(), me.index() - 1) : from);
                    arriving.await();
                    cur = next;
                }
                dqArriving.await();

                team.reduceScatter(arrivedDq, w.get("dqMine"));
                team.reduceScatter(w.get("dk"), w.get("dkMine"));
                team.reduceScatter(w.get("dv"), w.get("dvMine"));
                ops.convert(w.get("dqMine"), dq);
                ops.convert(w.get("dkMine"), dk);
                ops.convert(w.get("dvMine"), dv);
            }
            record(meter);
        }

        /** The query side of one team that travels in backward: q, out, dO, LSE. */
        private record Bundle(Tensor q, Tensor out, Tensor dout, Tensor lse) {
            static Bundle of(Slab w, int slot) {
                return new Bundle(w.get("q" + slot), w.get("out" + slot), w.get("dout" + slot), w.get("lse" + slot));
            }

            Pending sendTo(Bundle into, Communicator comm, int to, int from) {
                return Pending.all(comm.sendRecv(q, to, into.q, from), comm.sendRecv(out, to, into.out, from),
                        comm.sendRecv(dout, to, into.dout, from), comm.sendRecv(lse, to, into.lse, from));
            }
        }
    }
}
