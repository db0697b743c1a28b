package dev.longbow.bench.ranks;

import dev.longbow.tensor.DType;
import dev.longbow.tensor.Slab;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The in-process communicator on {@value #RANKS} ranks: an all-reduce, an all-to-all and a ring
 * step (each rank sends to the next and receives from the previous) of {@code floats} fp32 values
 * per rank. An operation is one call on every rank.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class CommunicatorBenchmark {
    static final int RANKS = 4;

    /** Values per rank: 4 KiB and 4 MiB. */
    @Param({"1024", "1048576"})
    public int floats;

    private InProcessRanks ranks;
    private Slab[] buffers;

    @Setup
    public void setUp() {
        ranks = new InProcessRanks(RANKS);
        buffers = new Slab[RANKS];
        ranks.run((rank, backend, comm) -> {
            buffers[rank] = Slab.builder().add("send", DType.F32, floats).add("recv", DType.F32, floats).allocate(backend::allocate);
            backend.tensors().fill(buffers[rank].get("send"), rank + 1f);
        });
    }

    @TearDown
    public void tearDown() {
        for (Slab s : buffers) {
            s.close();
        }
        ranks.close();
    }

    @Benchmark
    public void allReduce() {
        ranks.run((rank, backend, comm) -> comm.allReduce(buffers[rank].get("send")));
    }

    @Benchmark
    public void allToAll() {
        ranks.run((rank, backend, comm) -> comm.allToAll(buffers[rank].get("send"), buffers[rank].get("recv")));
    }

    @Benchmark
    public void ringStep() {
        ranks.run((rank, backend, comm) -> comm.sendRecv(buffers[rank].get("send"), (rank + 1) % RANKS,
                buffers[rank].get("recv"), (rank + RANKS - 1) % RANKS).await());
    }
}
