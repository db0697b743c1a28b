package dev.longbow.backend.cpu;

import dev.longbow.backend.AttentionOps;
import dev.longbow.backend.Backend;
import dev.longbow.backend.ModelOps;
import dev.longbow.backend.Pending;
import dev.longbow.backend.TensorChecks;
import dev.longbow.backend.TensorOps;
import dev.longbow.tensor.Allocation;
import dev.longbow.tensor.HostAllocation;
import dev.longbow.tensor.MemoryPool;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Tensor;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * One rank's CPU "device". Compute runs on the JVM-wide pool of {@link CpuThreads} and has
 * finished when a call returns, so program order is the stream order. Copies run on a copy
 * thread instead, chained so that one backend's copies happen in the order they were issued:
 * the copy stream, overlapping compute as a DMA engine would. Memory comes from a
 * {@link MemoryPool}, as on a GPU: after the first step, a step allocates nothing new.
 */
final class CpuBackend implements Backend {
    private static final ExecutorService COPIES = Executors.newCachedThreadPool(CpuThreads.daemonThreads("longbow-cpu-copy-", false));

    private final MemoryPool memory = new MemoryPool("host memory of the CPU backend", HostAllocation::new);
    private final CpuTensorOps tensors = new CpuTensorOps();
    private final CpuAttention attention = new CpuAttention();
    private final CpuModelOps model = new CpuModelOps();
    private CompletableFuture<Void> lastCopy = CompletableFuture.completedFuture(null);

    @Override
    public String name() {
        return CpuBackendProvider.NAME;
    }

    @Override
    public Placement placement() {
        return Placement.HOST;
    }

    @Override
    public Allocation allocate(long bytes) {
        return memory.take(bytes);
    }

    @Override
    public TensorOps tensors() {
        return tensors;
    }

    @Override
    public AttentionOps attention() {
        return attention;
    }

    @Override
    public ModelOps model() {
        return model;
    }

    @Override
    public synchronized Pending copyAsync(Tensor src, Tensor dst) {
        CpuTensorOps.requireHost(src, dst);
        TensorChecks.requireSameDTypeAndCount("copyAsync", src, dst);
        CompletableFuture<Void> copy = lastCopy.thenRunAsync(() -> tensors.copy(src, dst), COPIES);
        lastCopy = copy;
        return copy::join;
    }

    @Override
    public void synchronize() {
        CompletableFuture<Void> last;
        synchronized (this) {
            last = lastCopy;
        }
        last.join();
    }

    @Override
    public void close() {
        synchronize();
        memory.close();
    }
}
