package dev.longbow.parallel;

import dev.longbow.backend.Backend;
import dev.longbow.backend.Pending;
import dev.longbow.comm.Communicator;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * FPDT, the Fully Pipelined Distributed Transformer (arXiv 2408.16978): Ulysses over chunks. Each
 * rank's shard is N chunks of c tokens, laid out strided (rank r holds sub-chunks r, r+P, ...) so
 * that the all-to-all of local chunk i yields the contiguous global chunk {@code [i Pc, (i+1) Pc)}
 * for H/P heads. Only one chunk's buffers live in device memory; the others live in host memory.
 *
 * <p>Forward, for chunk i: all-to-all its q, k, v; attend to the fresh K/V chunk, then to the
 * earlier chunks 0..i-1 fetched back from the host, the next prefetched while the current one
 * computes (double buffered), merging online through the LSE; all-to-all the output back;
 * offload q, k, v, out, lse of the chunk. Backward walks the K/V chunks in reverse: chunk j's
 * dK/dV accumulate on the device over the query chunks that see it, whose q, out, dO, LSE and fp32
 * dQ stream in from the host (dQ goes back out after each use), then go home by all-to-all. Every
 * chunk backward reads from the host, K/V and queries alike, is requested while the one before it
 * computes (double buffered), as in forward.
 *
 * <p>Device buffer memory is O(P c) whatever the sequence length; the host holds O(S/P).
 * Without a causal mask every query chunk needs every K/V chunk, so all K/V are offloaded first.
 */
public record Fpdt(long chunkLen) implements Scheme {
    /** The name on the command line. */
    public static final String NAME = "fpdt";

    /**
     * @param chunkLen c: a rank's tokens per chunk, at least 1; after the all-to-all a chunk spans
     *                 P c tokens of the sequence
     */
    public Fpdt {
        if (chunkLen < 1) {
            throw new IllegalArgumentException("FPDT chunk size " + chunkLen + " must be at least 1 token per rank");
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void validate(int ranks, AttentionShape shape) {
        long localLen = shape.localLen(ranks);
        HeadExchange.requireSplit("FPDT", shape, ranks, ranks);
        if (localLen % chunkLen != 0) {
            throw new IllegalArgumentException("FPDT chunk size " + chunkLen + " does not divide the local sequence " + localLen
                    + " (sequence " + shape.seqLen() + " / ranks " + ranks + ")");
        }
    }

    @Override
    public SequenceLayout layout() {
        return SequenceLayout.strided(chunkLen);
    }

    @Override
    public SequenceParallelAttention attention(AttentionShape shape, Backend backend, Communicator comm) {
        return new Attention(this, shape, backend, comm);
    }

    @Override
    public CallSchedule schedule(int ranks, AttentionShape shape) {
        validate(ranks, shape);
        return FpdtSchedule.of(shape, ranks, chunkLen);
    }

    @Override
    public String settings(int ranks) {
        return "degree " + ranks + ", chunks of " + chunkLen + " tokens per rank";
    }

    /**
     * Four shards per call, an upper bound of its chunk buffers; what forward keeps for backward is
     * in host memory, counted here as its shard per layer.
     */
    @Override
    public long bufferBound(long shardBytes, int layersKept) {
        return (4L + layersKept) * shardBytes;
    }

    /** This rank's FPDT attention: forward and backward a chunk at a time, the rest in host memory. */
    static final class Attention extends RankAttention {
        /** A rank's tokens per chunk. */
        private final long chunkLen;
        private final int chunks;
        /** Tokens of one chunk after the all-to-all: every rank's chunk of the same index. */
        private final long span;
        private final HeadExchange exchange;
        private final BlockAttention attention;

        Attention(Fpdt scheme, AttentionShape shape, Backend backend, Communicator comm) {
            super(scheme, shape, backend, comm);
            this.chunkLen = scheme.chunkLen();
            this.chunks = Math.toIntExact(localLen / chunkLen);
            this.span = comm.size() * chunkLen;
            this.exchange = new HeadExchange(comm, ops, shape, chunkLen);
            this.attention = new BlockAttention(backend.attention(), params);
        }

        /** Declares a head-sharded chunk of queries (or of out, dO, dQ) in {@code dtype}: {@code [outer..., span, H/P, D]}. */
        private Slab.Builder queries(Slab.Builder b, String name, DType dtype, long... outer) {
            return b.add(name, dtype, dims(outer, span, exchange.heads, shape.headDim()));
        }

        /** Declares a head-sharded K and V chunk, named {@code name + "k"} and {@code name + "v"}. */
        private Slab.Builder keys(Slab.Builder b, String name, long... outer) {
            return b.add(name + "k", shape.dtype(), dims(outer, span, exchange.kvHeads, shape.headDim()))
                    .add(name + "v", shape.dtype(), dims(outer, span, exchange.kvHeads, shape.headDim()));
        }

        private Slab.Builder lse(Slab.Builder b, String name, long... outer) {
            return b.add(name, DType.F32, dims(outer, span, exchange.heads));
        }

        private static long[] dims(long[] outer, long... inner) {
            long[] d = new long[outer.length + inner.length];
            System.arraycopy(outer, 0, d, 0, outer.length);
            System.arraycopy(inner, 0, d, outer.length, inner.length);
            return d;
        }

        /** Chunk i of a host buffer {@code [N, ...]}. */
        private static Tensor chunk(Tensor all, int i) {
            long[] dims = all.shape().toArray();
            return all.rows(i, 1).view(Arrays.copyOfRange(dims, 1, dims.length));
        }

        /** Rows of chunk i of this rank's shard. */
        private Tensor local(Tensor t, int i) {
            return t.rows(i * chunkLen, chunkLen);
        }

        /** The global positions of chunk i after the all-to-all. */
        private List<Span> positions(int i) {
            return Span.contiguous(i * span, span);
        }

        /** What forward leaves in host memory for backward: every chunk's head-sharded q, K/V, out and lse, {@code [N, ...]}. */
        private record Offloaded(Slab slab, Tensor q, KeyValue kv, AttentionOut result) implements Saved {
            KeyValue keys(int i) {
                return new KeyValue(chunk(kv.k(), i), chunk(kv.v(), i));
            }

            @Override
            public void close() {
                slab.close();
            }
        }

        private Offloaded offloaded(CallMeter meter) {
            Slab.Builder b = Slab.builder();
            queries(b, "q", shape.dtype(), chunks);
            keys(b, "", chunks);
            queries(b, "out", shape.dtype(), chunks);
            lse(b, "lse", chunks);
            Slab s = meter.host(backend, b);
            return new Offloaded(s, s.get("q"), KeyValue.in(s, ""), new AttentionOut(s.get("out"), s.get("lse")));
        }

        /**
         * Forward's device buffers for one chunk: its head-sharded queries and output, its fresh K/V
         * and two slots for earlier chunks' K/V fetched back, the fp32 running result and one
         * block's fp32 result.
         */
        private record ForwardChunk(Slab slab, Tensor q, Tensor out, KeyValue fresh, List<KeyValue> fetched, AttentionOut acc,
                                    AttentionOut part) implements AutoCloseable {
            @Override
            public void close() {
                slab.close();
            }
        }

        private ForwardChunk forwardChunk(CallMeter meter) {
            Slab.Builder b = Slab.builder();
            queries(b, "q", shape.dtype());
            queries(b, "out", shape.dtype());
            for (String name : new String[] {"", "0", "1"}) {
                keys(b, name);
            }
            queries(b, "acc", DType.F32);
            lse(b, "accLse");
            queries(b, "part", DType.F32);
            lse(b, "partLse");
            Slab s = meter.device(backend, b);
            return new ForwardChunk(s, s.get("q"), s.get("out"), KeyValue.in(s, ""), List.of(KeyValue.in(s, "0"), KeyValue.in(s, "1")),
                    new AttentionOut(s.get("acc"), s.get("accLse")), new AttentionOut(s.get("part"), s.get("partLse")));
        }

        @Override
        public Saved forward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
            checkForward(q, k, v, out, lse);
            CallMeter meter = new CallMeter(List.of(comm));
            Offloaded host = offloaded(meter);
            try (HeadExchange.Scratch x = exchange.scratch(meter, backend); ForwardChunk dev = forwardChunk(meter)) {
                Forward pass = new Forward(host, x, dev, q, new KeyValue(k, v), new AttentionOut(out, lse));
                for (int i = 0; i < chunks; i++) {
                    pass.exchangeKeys(i);
                    if (params.causal()) {
                        pass.attend(i);
                    }
                }
                for (int i = 0; !params.causal() && i < chunks; i++) {
                    pass.attend(i);
                }
                pass.keysOffloaded.await();
                pass.queriesOffloaded.await();
            }
            record(meter);
            return issue(host);
        }

        /** One forward call's state: its buffers and the offloads in flight. */
        private final class Forward {
            final Offloaded host;
            final HeadExchange.Scratch x;
            final ForwardChunk dev;
            final Tensor q;
            final KeyValue kv;
            final AttentionOut result;
            Pending keysOffloaded = Pending.DONE;
            Pending queriesOffloaded = Pending.DONE;

            Forward(Offloaded host, HeadExchange.Scratch x, ForwardChunk dev, Tensor q, KeyValue kv, AttentionOut result) {
                this.host = host;
                this.x = x;
                this.dev = dev;
                this.q = q;
                this.kv = kv;
                this.result = result;
            }

            /** All-to-all of chunk i's K/V into the device buffers, then offload them. */
            void exchangeKeys(int i) {
                keysOffloaded.await();
                exchange.keysToHeads(x, new KeyValue(local(kv.k(), i), local(kv.v(), i)), dev.fresh());
                keysOffloaded = dev.fresh().copyAsync(backend, host.keys(i));
            }

            /** Query chunk i against every K/V chunk it sees, merged online, then home and offloaded. */
            void attend(int i) {
                queriesOffloaded.await();
                exchange.queriesToHeads(x, local(q, i), dev.q());
                dev.acc().clear(ops);
                // Causal: the fresh chunk is the diagonal block; chunks 0..i-1 come back from the host,
                // the first while the diagonal computes.
                int[] fromHost = IntStream.range(0, params.causal() ? i : chunks).toArray();
                Pending fetched = fromHost.length > 0 ? host.keys(fromHost[0]).copyAsync(backend, dev.fetched().get(0)) : Pending.DONE;
                if (params.causal()) {
                    attention.forward(dev.q(), positions(i), dev.fresh(), positions(i), dev.acc(), dev.part());
                }
                for (int idx = 0; idx < fromHost.length; idx++) {
                    fetched.await();
                    fetched = idx + 1 < fromHost.length
                            ? host.keys(fromHost[idx + 1]).copyAsync(backend, dev.fetched().get((idx + 1) % 2)) : Pending.DONE;
                    attention.forward(dev.q(), positions(i), dev.fetched().get(idx % 2), positions(fromHost[idx]), dev.acc(), dev.part());
                }
                ops.convert(dev.acc().out(), dev.out());
                AttentionOut chunkResult = new AttentionOut(dev.out(), dev.acc().lse());
                exchange.outputToSequence(x, chunkResult, new AttentionOut(local(result.out(), i), local(result.lse(), i)));
                queriesOffloaded = Pending.all(backend.copyAsync(dev.q(), chunk(host.q(), i)),
                        backend.copyAsync(dev.out(), chunk(host.result().out(), i)),
                        backend.copyAsync(dev.acc().lse(), chunk(host.result().lse(), i)));
            }
        }

        /** Backward's host buffers: every chunk's head-sharded dO and fp32 dQ so far, {@code [N, ...]}. */
        private record GradientsHost(Slab slab, Tensor dout, Tensor dq) implements AutoCloseable {
            @Override
            public void close() {
                slab.close();
            }
        }

        private GradientsHost gradientsHost(CallMeter meter) {
            Slab.Builder b = Slab.builder();
            queries(b, "dout", shape.dtype(), chunks);
            queries(b, "dq", DType.F32, chunks);
            Slab s = meter.host(backend, b);
            return new GradientsHost(s, s.get("dout"), s.get("dq"));
        }

        /**
         * Backward's device buffers: the fp32 dK/dV of the K/V chunk in hand, and two slots each of
         * a K/V chunk and of a query chunk's side with its fp32 dQ.
         */
        private record BackwardChunks(Slab slab, KeyValue dkv, List<KeyValue> keys, List<Queries> queries, List<Tensor> dq)
                implements AutoCloseable {
            @Override
            public void close() {
                slab.close();
            }
        }

        private BackwardChunks backwardChunks(CallMeter meter) {
            Slab.Builder b = Slab.builder();
            KeyValue.declare(b, "d", DType.F32, span, exchange.kvHeads, shape.headDim());
            for (int s = 0; s < 2; s++) {
                keys(b, "" + s);
                queries(b, "q" + s, shape.dtype());
                queries(b, "out" + s, shape.dtype());
                queries(b, "dout" + s, shape.dtype());
                lse(b, "lse" + s);
                queries(b, "dq" + s, DType.F32);
            }
            Slab s = meter.device(backend, b);
            List<Integer> slots = List.of(0, 1);
            return new BackwardChunks(s, KeyValue.in(s, "d"), slots.stream().map(i -> KeyValue.in(s, "" + i)).toList(),
                    slots.stream().map(i -> new Queries(s.get("q" + i), s.get("out" + i), s.get("lse" + i), s.get("dout" + i))).toList(),
                    slots.stream().map(i -> s.get("dq" + i)).toList());
        }

        @Override
        public void backward(Saved saved, Tensor dout, Tensor dq, Tensor dk, Tensor dv) {
            checkBackward(dout, dq, dk, dv);
            Offloaded fwd = spend(saved, Offloaded.class);
            CallMeter meter = new CallMeter(List.of(comm));
            meter.alreadyHeld(0, fwd.slab().byteSize());
            try (GradientsHost host = gradientsHost(meter); HeadExchange.Scratch x = exchange.scratch(meter, backend);
                 BackwardChunks dev = backwardChunks(meter)) {
                Backward pass = new Backward(fwd, host, x, dev);
                // The last K/V chunk, where backward starts, travels while dO is exchanged.
                Pending keysFetched = fwd.keys(chunks - 1).copyAsync(backend, dev.keys().get(0));
                pass.offloadGradOutput(dout);
                pass.walkPairs(keysFetched, new KeyValue(dk, dv));
                pass.queryGradsHome(dq);
            }
            record(meter);
        }

        /** A K/V chunk and a query chunk that sees it: one step of backward. */
        private record Pair(int keys, int queries) {
        }

        /** One backward call's state: which query chunks have a dQ on the host yet, and the copies in flight. */
        private final class Backward {
            final Offloaded fwd;
            final GradientsHost host;
            final HeadExchange.Scratch x;
            final BackwardChunks dev;
            final boolean[] dqStarted = new boolean[chunks];
            final Pending[] writeBack = {Pending.DONE, Pending.DONE};

            Backward(Offloaded fwd, GradientsHost host, HeadExchange.Scratch x, BackwardChunks dev) {
                this.fwd = fwd;
                this.host = host;
                this.x = x;
                this.dev = dev;
            }

            /** All-to-all of each dO chunk to heads, then offload, through the two query slots' dO. */
            void offloadGradOutput(Tensor dout) {
                Pending[] offloaded = {Pending.DONE, Pending.DONE};
                for (int i = 0; i < chunks; i++) {
                    int slot = i % 2;
                    Tensor staging = dev.queries().get(slot).dout();
                    offloaded[slot].await();
                    exchange.queriesToHeads(x, local(dout, i), staging);
                    offloaded[slot] = backend.copyAsync(staging, chunk(host.dout(), i));
                }
            }

            /**
             * K/V chunks in reverse, each against the query chunks that see it, dK/dV accumulating on
             * the device and going home after the chunk's last pair. The next pair's queries and the
             * next K/V chunk are fetched while the current pair computes (double buffered). A fetch
             * may follow a write-back of the same buffer without waiting for it, as copies run in the
             * order they are issued; only a fresh dQ, zeroed by compute, waits for its slot's last
             * write-back, which had the previous pair's compute to finish. Two consecutive pairs never
             * share a query chunk, so a prefetched dQ is never one the current pair is still adding to.
             */
            void walkPairs(Pending keysFetched, KeyValue dkv) {
                List<Pair> order = new ArrayList<>();
                for (int j = chunks - 1; j >= 0; j--) {
                    for (int i = params.causal() ? j : 0; i < chunks; i++) {
                        order.add(new Pair(j, i));
                    }
                }
                Pending queriesFetched = fetchQueries(order.getFirst().queries(), 0);
                for (int p = 0; p < order.size(); p++) {
                    int j = order.get(p).keys();
                    int i = order.get(p).queries();
                    int keySlot = (chunks - 1 - j) % 2;
                    int slot = p % 2;
                    KeyValue keys = dev.keys().get(keySlot);
                    Tensor dqChunk = dev.dq().get(slot);
                    if (p == 0 || order.get(p - 1).keys() != j) {
                        keysFetched.await();
                        keysFetched = j > 0 ? fwd.keys(j - 1).copyAsync(backend, dev.keys().get(keySlot ^ 1)) : Pending.DONE;
                        dev.dkv().fill(ops, 0f);
                    }
                    queriesFetched.await();
                    queriesFetched = p + 1 < order.size() ? fetchQueries(order.get(p + 1).queries(), slot ^ 1) : Pending.DONE;
                    if (!dqStarted[i]) {
                        writeBack[slot].await();
                        ops.fill(dqChunk, 0f);
                        dqStarted[i] = true;
                    }
                    attention.backward(dev.queries().get(slot), positions(i), keys, positions(j), new Gradients(dqChunk, dev.dkv()));
                    writeBack[slot] = backend.copyAsync(dqChunk, chunk(host.dq(), i));
                    if (p + 1 == order.size() || order.get(p + 1).keys() != j) {
                        // The chunk's K/V are spent: their memory stages the rounded gradients.
                        exchange.keyGradToSequence(x, rounded(dev.dkv().k(), keys.k()), local(dkv.k(), j));
                        exchange.keyGradToSequence(x, rounded(dev.dkv().v(), keys.v()), local(dkv.v(), j));
                    }
                }
            }

            /** Query chunk i's q, out, LSE, dO and, when it has one yet, its dQ so far, into slot {@code slot}. */
            private Pending fetchQueries(int i, int slot) {
                Queries from = new Queries(chunk(fwd.q(), i), chunk(fwd.result().out(), i), chunk(fwd.result().lse(), i),
                        chunk(host.dout(), i));
                Pending queries = from.copyAsync(backend, dev.queries().get(slot));
                return dqStarted[i] ? Pending.all(queries, backend.copyAsync(chunk(host.dq(), i), dev.dq().get(slot))) : queries;
            }

            /** Each query chunk's finished dQ back from the host and home by all-to-all, the next fetched meanwhile. */
            void queryGradsHome(Tensor dq) {
                Pending fetched = backend.copyAsync(chunk(host.dq(), 0), dev.dq().get(0));
                for (int i = 0; i < chunks; i++) {
                    int slot = i % 2;
                    fetched.await();
                    fetched = i + 1 < chunks ? backend.copyAsync(chunk(host.dq(), i + 1), dev.dq().get(slot ^ 1)) : Pending.DONE;
                    exchange.queryGradToSequence(x, rounded(dev.dq().get(slot), dev.queries().get(slot).q()), local(dq, i));
                }
            }
        }
    }
}
