package dev.longbow.bench.sidebyside;

import dev.longbow.backend.AttentionOps;
import dev.longbow.backend.AttentionParams;
import dev.longbow.backend.Backend;
import dev.longbow.backend.BackendChoice;
import dev.longbow.backend.Backends;
import dev.longbow.bench.cpu.FmaPeakBenchmark;
import dev.longbow.comm.local.LocalCommunicator;
import dev.longbow.data.TokenSequence;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.Precision;
import dev.longbow.parallel.Ring;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;
import dev.longbow.train.OnNonFinite;
import dev.longbow.train.OptimizerConfig;
import dev.longbow.train.RankTrainer;
import dev.longbow.train.TrainConfig;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;

/**
 * Longbow's side of {@code bench/side-by-side.sh}: reads one command a line on stdin, runs it and
 * answers one line of milliseconds per repetition, so that the driver can interleave it with the
 * peer's server (bench/peer/torch_peer.py, same protocol) round by round. The thread count is the
 * JVM's {@code -Dlongbow.cpu.threads}.
 *
 * <pre>
 * attn S D fwd|fwdbwd REPS     B=1, H=8, fp32, causal flash attention on [S, H, D] tensors
 * train PRESET SEQ REPS        one optimizer step of the preset Llama (r50k vocabulary), one rank
 * profile PRESET SEQ REPS      one step, then that many under {@link StepProfile}: "category=percent;..." back
 * probe WINDOWS                the machine's fp32 FMA rate, GFLOP/s per thread, in that many windows of
 *                              about 20 ms, every compute thread running {@link FmaPeakBenchmark}'s chains
 * quit
 * </pre>
 */
public final class LongbowPeerServer {
    static final int HEADS = 8;
    static final int VOCAB = 50257;
    /** Rows of logits per chunk of the loss: the CLI's default --logit-chunk. */
    static final int LOGIT_CHUNK = 256;
    /** The compute threads, as the CPU backend counts them. */
    static final int THREADS = Integer.getInteger("longbow.cpu.threads", Runtime.getRuntime().availableProcessors());

    /** The probe's FMA operands; not final, so that C2 cannot fold them (see FmaPeakBenchmark). */
    private float fmaMultiplier = 0.999f;
    private float fmaAddend = 0.001f;
    /** Attention's backend, kept: its memory pool and packing scratch serve every shape in turn. */
    private Backend cpu;
    /** A trainer's own backend, closed with it, so that one model's memory does not stay pooled beside the next one's. */
    private Backend trainBackend;
    private String attentionKey;
    private Slab attentionSlab;
    private String trainKey;
    private RankTrainer trainer;
    private TokenSequence sequence;

    public static void main(String[] args) throws Exception {
        LongbowPeerServer server = new LongbowPeerServer();
        server.cpu = Backends.open("cpu", 0);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        System.out.println("ready lanes=" + FloatVector.SPECIES_PREFERRED.length() + " threads=" + THREADS);
        for (String line; (line = in.readLine()) != null && !line.equals("quit"); ) {
            String[] w = line.trim().split("\\s+");
            if (w[0].equals("profile")) {
                int seq = Integer.parseInt(w[2]);
                int steps = Integer.parseInt(w[3]);
                // One step outside the recording: building a model (its random initial weights) is no part of a step.
                server.train(w[1], seq, 1);
                var shares = StepProfile.of(() -> server.train(w[1], seq, steps));
                System.out.println(String.join(";", shares.entrySet().stream().map(e -> e.getKey() + "=" + String.format("%.1f", e.getValue())).toList()));
                continue;
            }
            List<Double> millis = switch (w[0]) {
                case "attn" -> server.attention(Integer.parseInt(w[1]), Integer.parseInt(w[2]), w[3].equals("fwdbwd"), Integer.parseInt(w[4]));
                case "train" -> server.train(w[1], Integer.parseInt(w[2]), Integer.parseInt(w[3]));
                case "probe" -> server.probe(Integer.parseInt(w[1]));
                default -> throw new IllegalArgumentException("unknown command: " + line);
            };
            System.out.println(String.join(" ", millis.stream().map(m -> String.format("%.3f", m)).toList()));
        }
        server.release();
        server.cpu.close();
    }

    private List<Double> attention(int s, int d, boolean backward, int reps) {
        String key = s + "x" + d;
        if (!key.equals(attentionKey)) {
            release();
            Slab.Builder b = Slab.builder();
            for (String name : new String[] {"q", "k", "v", "out", "dout", "dq", "dk", "dv"}) {
                b.add(name, DType.F32, s, HEADS, d);
            }
            attentionSlab = b.add("lse", DType.F32, s, HEADS).allocate(cpu::allocate);
            SplittableRandom random = new SplittableRandom(42);
            for (String name : new String[] {"q", "k", "v", "dout"}) {
                Tensor t = attentionSlab.get(name);
                for (long i = 0; i < t.numel(); i++) {
                    t.setFloat(i, (float) (random.nextDouble() * 2 - 1));
                }
            }
            attentionKey = key;
        }
        AttentionOps ops = cpu.attention();
        AttentionParams params = AttentionParams.of(d, true);
        Slab t = attentionSlab;
        List<Double> millis = new ArrayList<>();
        for (int r = 0; r < reps; r++) {
            long start = System.nanoTime();
            ops.forward(t.get("q"), t.get("k"), t.get("v"), t.get("out"), t.get("lse"), params);
            if (backward) {
                ops.backward(t.get("q"), t.get("k"), t.get("v"), t.get("out"), t.get("lse"), t.get("dout"),
                        t.get("dq"), t.get("dk"), t.get("dv"), params);
            }
            millis.add((System.nanoTime() - start) / 1e6);
        }
        return millis;
    }

    private List<Double> train(String preset, int seq, int reps) {
        String key = preset + "x" + seq;
        if (!key.equals(trainKey)) {
            release();
            TrainConfig config = new TrainConfig(ModelConfig.named(preset, VOCAB), new Ring(), 1, seq, BackendChoice.CPU,
                    1_000_000, 1, OptimizerConfig.defaults(3e-3f, 5), 1234, false, LOGIT_CHUNK, Precision.F32, false).validate();
            trainBackend = Backends.open("cpu", 0);
            trainer = new RankTrainer(config, trainBackend, LocalCommunicator.create(1).get(0));
            SplittableRandom random = new SplittableRandom(7);
            int[] tokens = new int[seq];
            int[] targets = new int[seq];
            for (int i = 0; i < seq; i++) {
                tokens[i] = random.nextInt(VOCAB);
                targets[i] = random.nextInt(VOCAB);
            }
            sequence = new TokenSequence(tokens, targets);
            trainKey = key;
        }
        List<Double> millis = new ArrayList<>();
        for (int r = 0; r < reps; r++) {
            long start = System.nanoTime();
            trainer.step(r, List.of(sequence), OnNonFinite.STOP);
            millis.add((System.nanoTime() - start) / 1e6);
        }
        return millis;
    }

    /**
     * The FMA rate, window by window: these VMs' vCPUs at times share a physical core with each
     * other or another tenant, which halves it for milliseconds to seconds; the driver reports
     * the spread beside the timings.
     */
    private List<Double> probe(int windows) throws InterruptedException {
        int calls = (int) Math.max(1, 4e9 / FmaPeakBenchmark.FLOPS_PER_CALL);  // ~20 ms at 200 GFLOP/s
        List<Double> perThread = new ArrayList<>();
        for (int window = 0; window < windows; window++) {
            Thread[] running = new Thread[THREADS];
            long start = System.nanoTime();
            for (int t = 0; t < THREADS; t++) {
                running[t] = Thread.ofPlatform().start(() -> {
                    for (int i = 0; i < calls; i++) {
                        FmaPeakBenchmark.chains(fmaMultiplier, fmaAddend);
                    }
                });
            }
            for (Thread t : running) {
                t.join();
            }
            perThread.add((double) calls * FmaPeakBenchmark.FLOPS_PER_CALL / (System.nanoTime() - start));
        }
        return perThread;
    }

    /** One workload's buffers at a time: S = 16384 attention and a small-model step each take gigabytes. */
    private void release() {
        if (attentionSlab != null) {
            attentionSlab.close();
            attentionSlab = null;
            attentionKey = null;
        }
        if (trainer != null) {
            trainer.close();
            trainBackend.close();
            trainer = null;
            trainBackend = null;
            trainKey = null;
        }
    }
}
