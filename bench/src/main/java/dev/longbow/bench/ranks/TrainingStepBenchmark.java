package dev.longbow.bench.ranks;

import dev.longbow.data.TokenSequence;
import dev.longbow.model.ModelConfig;
import dev.longbow.parallel.Ulysses;
import dev.longbow.train.RankTrainer;
import dev.longbow.train.TrainConfig;
import dev.longbow.train.OnNonFinite;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One optimizer step of the tiny Llama (vocab {@value #VOCAB}) on a sequence of {@value #SEQ_LEN}
 * tokens split over {@value #RANKS} in-process ranks with Ulysses, CPU backend: forward, backward,
 * gradient all-reduce and AdamW. The same sequence every step; only the weights change.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 3)
public class TrainingStepBenchmark {
    static final int RANKS = 2;
    static final int SEQ_LEN = 512;
    static final int VOCAB = 512;

    private InProcessRanks ranks;
    private RankTrainer[] trainers;
    private List<TokenSequence> batch;
    private int step;

    @Setup
    public void setUp() {
        TrainConfig config = TrainConfig.builder(ModelConfig.named("tiny", VOCAB), new Ulysses())
                .ranks(RANKS).seqLen(SEQ_LEN).steps(Integer.MAX_VALUE).build();
        SplittableRandom random = new SplittableRandom(7);
        int[] tokens = random.ints(SEQ_LEN + 1, 0, VOCAB).toArray();
        batch = List.of(new TokenSequence(Arrays.copyOf(tokens, SEQ_LEN), Arrays.copyOfRange(tokens, 1, SEQ_LEN + 1)));
        ranks = new InProcessRanks(RANKS);
        trainers = new RankTrainer[RANKS];
        ranks.run((rank, backend, comm) -> trainers[rank] = new RankTrainer(config, backend, comm));
    }

    @TearDown
    public void tearDown() {
        ranks.run((rank, backend, comm) -> trainers[rank].close());
        ranks.close();
    }

    @Benchmark
    public void step() {
        int current = step++;
        ranks.run((rank, backend, comm) -> trainers[rank].step(current, batch, OnNonFinite.STOP));
    }
}
