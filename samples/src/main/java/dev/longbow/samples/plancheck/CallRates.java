package dev.longbow.samples.plancheck;

import dev.longbow.backend.AttentionOps;
import dev.longbow.backend.AttentionParams;
import dev.longbow.backend.Backend;
import dev.longbow.backend.Backends;
import dev.longbow.parallel.AttentionCall;
import dev.longbow.plan.AttentionRates;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Slab;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The CPU backend's attention throughput by call shape, measured as the scheme samples run it:
 * {@code callers} rank threads issue the same call at once on the shared compute pool, and a call
 * of that shape takes the slowest of them (the makespan), the median over every round measured.
 * The FLOP/s are the whole machine's: {@code callers} calls' FLOPs over the makespan.
 */
final class CallRates implements AttentionRates {
    private final int callers;
    /** Forward and backward makespans, seconds, of each shape, every iteration of every round. */
    private final Map<AttentionCall, List<List<Double>>> seconds = new LinkedHashMap<>();

    CallRates(List<AttentionCall> calls, int callers) {
        this.callers = callers;
        for (AttentionCall call : calls) {
            seconds.put(call, List.of(new ArrayList<>(), new ArrayList<>()));
        }
    }

    /** One round: every shape {@code iterations} times, shape after shape. */
    void measure(int iterations) {
        seconds.forEach((call, both) -> {
            double[][] round = time(call, callers, iterations);
            for (int pass = 0; pass < 2; pass++) {
                for (double s : round[pass]) {
                    both.get(pass).add(s);
                }
            }
        });
    }

    /** Forward and backward FLOP/s of each shape, from the median makespans. */
    Map<AttentionCall, double[]> table() {
        Map<AttentionCall, double[]> rates = new LinkedHashMap<>();
        for (AttentionCall call : seconds.keySet()) {
            rates.put(call, new double[] {forward(call), backward(call)});
        }
        return rates;
    }

    @Override
    public double forward(AttentionCall call) {
        return callers * call.flops() / CpuCheck.median(of(call).get(0));
    }

    @Override
    public double backward(AttentionCall call) {
        return callers * 2.5 * call.flops() / CpuCheck.median(of(call).get(1));
    }

    @Override
    public String describe() {
        return "the CPU backend's attention by call shape, measured with " + callers + " callers at once";
    }

    private List<List<Double>> of(AttentionCall call) {
        List<List<Double>> s = seconds.get(call);
        if (s == null || s.getFirst().isEmpty()) {
            throw new IllegalArgumentException("no rate measured for " + call + "; measured: " + seconds.keySet());
        }
        return s;
    }

    /** Forward and backward makespans, seconds, of {@code callers} threads each issuing {@code call}, iteration by iteration. */
    private static double[][] time(AttentionCall call, int callers, int iterations) {
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
        double[][] seconds = new double[2][iterations];
        for (int i = 0; i < iterations; i++) {
            seconds[0][i] = (ends.get(2 * i) - starts.get(2 * i)) * 1e-9;
            seconds[1][i] = (ends.get(2 * i + 1) - starts.get(2 * i + 1)) * 1e-9;
        }
        return seconds;
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
