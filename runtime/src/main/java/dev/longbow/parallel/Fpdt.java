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

    static final class Attention extends RankAttention {
        private final long chunk;
        private final int chunks;
        private final long span;
        private final HeadExchange exchange;

        Attention(Fpdt scheme, AttentionShape shape, Backend backend, Communicator comm) {
            super(scheme, shape, backend, comm);
            this.chunk = scheme.chunkLen();
            this.chunks = Math.toIntExact(n / chunk);
            this.span = comm.size() * chunk;
            this.exchange = new HeadExchange(comm, ops, shape, chunk);
        }

        private Slab.Builder queries(Slab.Builder b, String name, DType dtype, long... outer) {
            return b.add(name, dtype, dims(outer, span, exchange.heads, shape.headDim()));
        }

        private Slab.Builder keys(Slab.Builder b, String name, long... outer) {
            return b.add(name, shape.dtype(), dims(outer, span, exchange.kvHeads, shape.headDim()));
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
        private static Tensor chunkOf(Slab s, String name, int i) {
            Tensor all = s.get(name);
            long[] dims = all.shape().toArray();
            return all.rows(i, 1).view(Arrays.copyOfRange(dims, 1, dims.length));
        }

        /** The global positions of chunk i after the all-to-all. */
        private List<Span> positions(int i) {
            return Span.contiguous(i * span, span);
        }

        /** What forward leaves in host memory for backward, chunk by chunk. */
        private record Offloaded(Slab host) implements Saved {
            @Override
            public void close() {
                host.close();
            }
        }

        @Override
        public Saved forward(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
            checkForward(q, k, v, out, lse);
            CallMeter meter = new CallMeter(List.of(comm));
            Slab.Builder hostDeclared = Slab.builder();
            queries(hostDeclared, "q", shape.dtype(), chunks);
            keys(hostDeclared, "k", chunks);
            keys(hostDeclared, "v", chunks);
            queries(hostDeclared, "out", shape.dtype(), chunks);
            lse(hostDeclared, "lse", chunks);
            Slab host = meter.host(backend, hostDeclared);
            Slab.Builder declared = exchange.declare(Slab.builder());
            queries(declared, "q", shape.dtype());
            queries(declared, "out", shape.dtype());
            for (String name : new String[] {"k", "v", "k0", "v0", "k1", "v1"}) {
                keys(declared, name);
            }
            queries(declared, "acc", DType.F32);
            lse(declared, "accLse");
            queries(declared, "part", DType.F32);
            lse(declared, "partLse");
            try (Slab dev = meter.device(backend, declared)) {
                Forward pass = new Forward(host, dev, q, k, v, out, lse);
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
            return issue(new Offloaded(host));
        }

        /** One forward call's state: its buffers and the offloads in flight. */
        private final class Forward {
            final Slab host;
            final Slab dev;
            final Tensor q;
            final Tensor k;
            final Tensor v;
            final Tensor out;
            final Tensor lse;
            final BlockAttention attention = new BlockAttention(backend.attention(), params);
            Pending keysOffloaded = Pending.DONE;
            Pending queriesOffloaded = Pending.DONE;

            Forward(Slab host, Slab dev, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
                this.host = host;
                this.dev = dev;
                this.q = q;
                this.k = k;
                this.v = v;
                this.out = out;
                this.lse = lse;
            }

            /** All-to-all of chunk i's K/V into the device buffers, then offload them. */
            void exchangeKeys(int i) {
                keysOffloaded.await();
                exchange.keysToHeads(dev, k.rows(i * chunk, chunk), dev.get("k"));
                exchange.keysToHeads(dev, v.rows(i * chunk, chunk), dev.get("v"));
                keysOffloaded = Pending.all(backend.copyAsync(dev.get("k"), chunkOf(host, "k", i)),
                        backend.copyAsync(dev.get("v"), chunkOf(host, "v", i)));
            }

            /** Query chunk i against every K/V chunk it sees, merged online, then home and offloaded. */
            void attend(int i) {
                Tensor acc = dev.get("acc");
                Tensor accLse = dev.get("accLse");
                Tensor qc = dev.get("q");
                queriesOffloaded.await();
                exchange.queriesToHeads(dev, q.rows(i * chunk, chunk), qc);
                ops.fill(acc, 0f);
                ops.fill(accLse, Float.NEGATIVE_INFINITY);
                // Causal: the fresh chunk is the diagonal block; chunks 0..i-1 come back from the host,
                // the first while the diagonal computes.
                int[] fromHost = IntStream.range(0, params.causal() ? i : chunks).toArray();
                Pending fetched = fromHost.length > 0 ? fetchKeys(host, fromHost[0], dev, 0) : Pending.DONE;
                if (params.causal()) {
                    attention.forward(qc, positions(i), dev.get("k"), dev.get("v"), positions(i), acc, accLse, dev.get("part"), dev.get("partLse"));
                }
                for (int idx = 0; idx < fromHost.length; idx++) {
                    fetched.await();
                    fetched = idx + 1 < fromHost.length ? fetchKeys(host, fromHost[idx + 1], dev, (idx + 1) % 2) : Pending.DONE;
                    attention.forward(qc, positions(i), dev.get("k" + idx % 2), dev.get("v" + idx % 2), positions(fromHost[idx]),
                            acc, accLse, dev.get("part"), dev.get("partLse"));
                }
                Tensor outc = dev.get("out");
                ops.convert(acc, outc);
                exchange.outputToSequence(dev, outc, accLse, out.rows(i * chunk, chunk), lse.rows(i * chunk, chunk));
                queriesOffloaded = Pending.all(backend.copyAsync(qc, chunkOf(host, "q", i)),
                        backend.copyAsync(outc, chunkOf(host, "out", i)), backend.copyAsync(accLse, chunkOf(host, "lse", i)));
            }
        }

        @Override
        public void backward(Saved saved, Tensor dout, Tensor dq, Tensor dk, Tensor dv) {
            checkBackward(dout, dq, dk, dv);
            Slab fwd = spend(saved, Offloaded.class).host();
            CallMeter meter = new CallMeter(List.of(comm));
            meter.alreadyHeld(0, fwd.byteSize());
            Slab.Builder hostDeclared = Slab.builder();
            queries(hostDeclared, "dout", shape.dtype(), chunks);
            queries(hostDeclared, "dq", DType.F32, chunks);
            Slab.Builder declared = exchange.declare(Slab.builder());
            for (String g : new String[] {"dk", "dv"}) {
                declared.add(g, DType.F32, span, exchange.kvHeads, shape.headDim());
            }
            for (int s = 0; s < 2; s++) {
                keys(declared, "k" + s);
                keys(declared, "v" + s);
                queries(declared, "q" + s, shape.dtype());
                queries(declared, "out" + s, shape.dtype());
                queries(declared, "dout" + s, shape.dtype());
                lse(declared, "lse" + s);
                queries(declared, "dq" + s, DType.F32);
            }
            try (Slab host = meter.host(backend, hostDeclared); Slab dev = meter.device(backend, declared)) {
                Backward pass = new Backward(fwd, host, dev);
                // The last K/V chunk, where backward starts, travels while dO is exchanged.
                Pending keysFetched = fetchKeys(fwd, chunks - 1, dev, 0);
                pass.offloadGradOutput(dout);
                pass.walkPairs(keysFetched, dk, dv);
                pass.queryGradsHome(dq);
            }
            record(meter);
        }

        /** A K/V chunk and a query chunk that sees it: one step of backward. */
        private record Pair(int keys, int queries) {
        }

        /** One backward call's state: which query chunks have a dQ on the host yet, and the copies in flight. */
        private final class Backward {
            final Slab fwd;
            final Slab host;
            final Slab dev;
            final boolean[] dqStarted = new boolean[chunks];
            final Pending[] writeBack = {Pending.DONE, Pending.DONE};
            final BlockAttention attention = new BlockAttention(backend.attention(), params);

            Backward(Slab fwd, Slab host, Slab dev) {
                this.fwd = fwd;
                this.host = host;
                this.dev = dev;
            }

            /** All-to-all of each dO chunk to heads, then offload, through two alternating buffers. */
            void offloadGradOutput(Tensor dout) {
                Pending[] offloaded = {Pending.DONE, Pending.DONE};
                for (int i = 0; i < chunks; i++) {
                    int slot = i % 2;
                    offloaded[slot].await();
                    exchange.queriesToHeads(dev, dout.rows(i * chunk, chunk), dev.get("dout" + slot));
                    offloaded[slot] = backend.copyAsync(dev.get("dout" + slot), chunkOf(host, "dout", i));
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
            void walkPairs(Pending keysFetched, Tensor dk, Tensor dv) {
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
                    if (p == 0 || order.get(p - 1).keys() != j) {
                        keysFetched.await();
                        keysFetched = j > 0 ? fetchKeys(fwd, j - 1, dev, keySlot ^ 1) : Pending.DONE;
                        ops.fill(dev.get("dk"), 0f);
                        ops.fill(dev.get("dv"), 0f);
                    }
                    queriesFetched.await();
                    queriesFetched = p + 1 < order.size() ? fetchQueries(order.get(p + 1).queries(), slot ^ 1) : Pending.DONE;
                    if (!dqStarted[i]) {
                        writeBack[slot].await();
                        ops.fill(dev.get("dq" + slot), 0f);
                        dqStarted[i] = true;
                    }
                    attention.backward(dev.get("q" + slot), positions(i), dev.get("k" + keySlot), dev.get("v" + keySlot), positions(j),
                            dev.get("out" + slot), dev.get("lse" + slot), dev.get("dout" + slot),
                            dev.get("dq" + slot), dev.get("dk"), dev.get("dv"));
                    writeBack[slot] = backend.copyAsync(dev.get("dq" + slot), chunkOf(host, "dq", i));
                    if (p + 1 == order.size() || order.get(p + 1).keys() != j) {
                        // The chunk's K/V are spent: their memory stages the rounded gradients.
                        exchange.keyGradToSequence(dev, rounded(dev.get("dk"), dev.get("k" + keySlot)), dk.rows(j * chunk, chunk));
                        exchange.keyGradToSequence(dev, rounded(dev.get("dv"), dev.get("v" + keySlot)), dv.rows(j * chunk, chunk));
                    }
                }
            }

            /** Query chunk i's q, out, LSE, dO and, when it has one yet, its dQ so far, into slot {@code slot}. */
            private Pending fetchQueries(int i, int slot) {
                Pending queries = Pending.all(backend.copyAsync(chunkOf(fwd, "q", i), dev.get("q" + slot)),
                        backend.copyAsync(chunkOf(fwd, "out", i), dev.get("out" + slot)),
                        backend.copyAsync(chunkOf(fwd, "lse", i), dev.get("lse" + slot)),
                        backend.copyAsync(chunkOf(host, "dout", i), dev.get("dout" + slot)));
                return dqStarted[i] ? Pending.all(queries, backend.copyAsync(chunkOf(host, "dq", i), dev.get("dq" + slot))) : queries;
            }

            /** Each query chunk's finished dQ back from the host and home by all-to-all, the next fetched meanwhile. */
            void queryGradsHome(Tensor dq) {
                Pending fetched = backend.copyAsync(chunkOf(host, "dq", 0), dev.get("dq0"));
                for (int i = 0; i < chunks; i++) {
                    int slot = i % 2;
                    fetched.await();
                    fetched = i + 1 < chunks ? backend.copyAsync(chunkOf(host, "dq", i + 1), dev.get("dq" + (slot ^ 1))) : Pending.DONE;
                    exchange.queryGradToSequence(dev, rounded(dev.get("dq" + slot), dev.get("q" + slot)), dq.rows(i * chunk, chunk));
                }
            }
        }

        /** Copies K/V chunk j from the host buffers {@code from} into the device's slot {@code slot}. */
        private Pending fetchKeys(Slab from, int j, Slab dev, int slot) {
            return Pending.all(backend.copyAsync(chunkOf(from, "k", j), dev.get("k" + slot)),
                    backend.copyAsync(chunkOf(from, "v", j), dev.get("v" + slot)));
        }
    }
}
