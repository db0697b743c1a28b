package dev.longbow.samples.cli;

import dev.longbow.backend.AttentionOps;
import dev.longbow.backend.AttentionParams;
import dev.longbow.backend.Backend;
import dev.longbow.backend.Backends;
import dev.longbow.plan.AttentionCall;
import dev.longbow.plan.AttentionRates;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Slab;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The CPU backend's attention throughput by call shape, measured as the scheme samples run it:
 * {@code callers} rank threads issue the same call at once on the shared compute pool, and a call
 * of that shape takes the slowest of them (the makespan), the median over the iterations. The
 * FLOP/s are the whole machine's: {@code callers} calls' FLOPs over the makespan.
 */
final class CallRates implements AttentionRates {
    private static final int WARM_UP = 5;

    /** Forward and backward FLOP/s of each shape measured. */
    private final Map<AttentionCall, double[]> rates;

    private CallRates(Map<AttentionCall, double[]> rates) {
        this.rates = rates;
    }

    /** Measures every call in {@code calls}, each {@code iterations} times after a warm-up of them all. */
    static CallRates measure(List<AttentionCall> calls, int callers, int iterations) {
        for (AttentionCall call : calls) {
            time(call, callers, WARM_UP);
        }
        Map<AttentionCall, double[]> rates = new LinkedHashMap<>();
        for (AttentionCall call : calls) {
            double[] seconds = time(call, callers, iterations);
            rates.put(call, new double[] {callers * call.flops() / seconds[0], callers * 2.5 * call.flops() / seconds[1]});
        }
        return new CallRates(rates);
    }

    Map<AttentionCall, double[]> table() {
        return rates;
    }

    @Override
    public double forward(AttentionCall call) {
        return of(call)[0];
    }

    @Override
    public double backward(AttentionCall call) {
        return of(call)[1];
    }

    private double[] of(AttentionCall call) {
        double[] r = rates.get(call);
        if (r == null) {
            throw new IllegalArgumentException("no rate measured for " + call + "; measured: " + rates.keySet());
        }
        return r;
    }

    /** Median forward and backward makespans, seconds, of {@code callers} threads each issuing {@code call}. */
    private static double[] time(AttentionCall call, int callers, int iterations) {
        // per iteration: earliest start and latest end of forward, then of backward
        AtomicLongArray starts = new AtomicLongArray(2 * iterations);
        AtomicLongArray ends = new AtomicLongArray(2 * iterations);
        for (int i = 0; i < starts.length(); i++) {
            starts.set(i, Long.MAX_VALUE);
        }
        CyclicBarrier together = new CyclicBarrier(callers);
        List<Thread> threads = new ArrayList<>();
        List<Throwable> failures = new ArrayList<>();
        for (int c = 0; c < callers; c++) {
            int rank = c;
            Thread t = Thread.ofPlatform().name("caller-" + c).start(() -> {
                try {
                    run(call, rank, iterations, together, starts, ends);
                } catch (Throwable e) {
                    synchronized (failures) {
                        failures.add(e);
                    }
                    together.reset();
                }
            });
            threads.add(t);
        }
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while timing " + call, e);
            }
        }
        if (!failures.isEmpty()) {
            throw new IllegalStateException("timing " + call + " failed", failures.getFirst());
        }
        double[] forward = new double[iterations];
        double[] backward = new double[iterations];
        for (int i = 0; i < iterations; i++) {
            forward[i] = (ends.get(2 * i) - starts.get(2 * i)) * 1e-9;
            backward[i] = (ends.get(2 * i + 1) - starts.get(2 * i + 1)) * 1e-9;
        }
        Arrays.sort(forward);
        Arrays.sort(backward);
        return new double[] {forward[iterations / 2], backward[iterations / 2]};
    }

    private static void run(AttentionCall call, int rank, int iterations, CyclicBarrier together, AtomicLongArray starts,
                            AtomicLongArray ends) throws Exception {
        int d = call.headDim();
        Backend backend = Backends.open("cpu", rank);
        Slab.Builder declared = Slab.builder()
                .add("q", DType.F32, call.queries(), call.heads(), d).add("out", DType.F32, call.queries(), call.heads(), d)
                .add("dout", DType.F32, call.queries(), call.heads(), d).add("dq", DType.F32, call.queries(), call.heads(), d)
                .add("lse", DType.F32, call.queries(), call.heads());
        for (String name : new String[] {"k", "v", "dk", "dv"}) {
            declared.add(name, DType.F32, call.keys(), call.kvHeads(), d);
        }
        try (Slab s = declared.allocate(backend::allocate)) {
            // the kernels' speed does not depend on the values, only on the shape and the mask
            backend.tensors().fill(s.get("q"), 0.01f);
            backend.tensors().fill(s.get("k"), 0.02f);
            backend.tensors().fill(s.get("v"), 0.03f);
            backend.tensors().fill(s.get("dout"), 0.01f);
            AttentionParams params = AttentionParams.of(d, call.diagonal());
            AttentionOps ops = backend.attention();
            for (int i = 0; i < iterations; i++) {
                together.await();
                starts.accumulateAndGet(2 * i, System.nanoTime(), Math::min);
                ops.forward(s.get("q"), s.get("k"), s.get("v"), s.get("out"), s.get("lse"), params);
                ends.accumulateAndGet(2 * i, System.nanoTime(), Math::max);
                together.await();
                starts.accumulateAndGet(2 * i + 1, System.nanoTime(), Math::min);
                ops.backward(s.get("q"), s.get("k"), s.get("v"), s.get("out"), s.get("lse"), s.get("dout"),
                        s.get("dq"), s.get("dk"), s.get("dv"), params);
                ends.accumulateAndGet(2 * i + 1, System.nanoTime(), Math::max);
            }
        } finally {
            backend.close();
        }
    }
}
