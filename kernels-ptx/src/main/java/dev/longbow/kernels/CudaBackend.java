package dev.longbow.kernels;

import dev.longbow.backend.AttentionOps;
import dev.longbow.backend.Backend;
import dev.longbow.backend.ModelOps;
import dev.longbow.backend.Pending;
import dev.longbow.backend.TensorChecks;
import dev.longbow.backend.TensorOps;
import dev.longbow.cuda.Context;
import dev.longbow.cuda.CudaCompute;
import dev.longbow.cuda.DeviceBuffer;
import dev.longbow.cuda.DeviceMemory;
import dev.longbow.cuda.DeviceProperties;
import dev.longbow.cuda.Dim3;
import dev.longbow.cuda.Event;
import dev.longbow.cuda.KernelArgs;
import dev.longbow.cuda.NativeLibraryException;
import dev.longbow.cuda.PinnedBuffer;
import dev.longbow.cuda.Stream;
import dev.longbow.tensor.Allocation;
import dev.longbow.tensor.MemoryPool;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * One rank's GPU: the device's primary context, a compute stream that every op and kernel
 * launch goes to in program order, and a copy stream for {@link #copyAsync}, ordered against
 * compute by events only (the host never waits, except in {@link #synchronize} and
 * {@link TensorOps#sumOfSquares}). Kernel scratch comes from one growing {@link Workspace}.
 *
 * <p>Every call makes the context current on the calling thread first, so a backend may be
 * opened on one thread and used on another (one at a time: a backend is one rank's).
 */
final class CudaBackend implements Backend, CudaCompute, Launcher {
    private static final System.Logger LOG = System.getLogger(CudaBackend.class.getName());
    /** Copies in flight whose completion events are still distinct (see {@link #copyAsync}). */
    private static final int EVENTS = 16;

    private final Context context;
    private final DeviceProperties device;
    private final Stream compute;
    private final Stream copies;
    private final Event[] computeMarks = new Event[EVENTS];
    private final Event[] copyMarks = new Event[EVENTS];
    private final KernelLibrary kernels;
    private final Workspace workspace;
    private final MemoryPool deviceMemory;
    private final MemoryPool pinnedMemory;
    private final PinnedBuffer scalar;
    private final CublasMatmul cublas;
    private final CudaTensorOps tensors;
    private final CudaAttention attention;
    private final CudaModelOps model;
    private int nextEvent;
    private boolean closed;

    CudaBackend(int ordinal, DeviceProperties device) {
        this.device = device;
        List<AutoCloseable> made = new ArrayList<>();  // released again if a later step fails
        try {
            this.context = made(made, Context.primary(ordinal).makeCurrent());
            this.compute = made(made, Stream.create("rank-compute-" + ordinal));
            this.copies = made(made, Stream.create("rank-copy-" + ordinal));
            for (int i = 0; i < EVENTS; i++) {
                computeMarks[i] = made(made, Event.createForOrdering());
                copyMarks[i] = made(made, Event.createForOrdering());
            }
            this.kernels = made(made, new KernelLibrary(device.computeMajor(), device.computeMinor()));
            this.workspace = made(made, new Workspace(compute));
            this.deviceMemory = made(made, new MemoryPool("device memory of GPU " + ordinal, DeviceBuffer::allocate));
            this.pinnedMemory = made(made, new MemoryPool("pinned host memory for GPU " + ordinal, PinnedBuffer::allocate));
            this.scalar = made(made, PinnedBuffer.allocate(Double.BYTES));
            this.cublas = matmulEngine(device, context, compute);
        } catch (RuntimeException | Error e) {
            for (AutoCloseable c : made.reversed()) {
                try {
                    c.close();
                } catch (Exception suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
        this.tensors = new CudaTensorOps(this);
        this.attention = new CudaAttention(this, device);
        this.model = new CudaModelOps(this, cublas);
    }

    private static <T extends AutoCloseable> T made(List<AutoCloseable> made, T resource) {
        made.add(resource);
        return resource;
    }

    /**
     * System property {@code longbow.cuda.matmul}: "cublas" (fail if libcublas is missing),
     * "kernels" (gemm.cu), or "auto", the default: cuBLAS when libcublas loads, which is much
     * faster on Hopper (wgmma), else gemm.cu. The choice is logged.
     */
    private static CublasMatmul matmulEngine(DeviceProperties device, Context context, Stream compute) {
        String choice = System.getProperty("longbow.cuda.matmul", "auto");
        CublasMatmul cublas = switch (choice) {
            case "kernels" -> null;
            case "cublas" -> CublasMatmul.open(context, compute);
            case "auto" -> {
                try {
                    yield CublasMatmul.open(context, compute);
                } catch (NativeLibraryException e) {
                    LOG.log(System.Logger.Level.INFO, "GPU " + device.ordinal() + ": " + e.getMessage());
                    yield null;
                }
            }
            default -> throw new IllegalArgumentException("longbow.cuda.matmul=" + choice + "; use auto, cublas or kernels");
        };
        LOG.log(System.Logger.Level.INFO, "GPU " + device.ordinal() + ": matmul through "
                + (cublas == null ? "Longbow's GEMM kernels (gemm.cu)" : "cuBLAS (" + CublasMatmul.load() + ")"));
        return cublas;
    }

    @Override
    public Context context() {
        return context;
    }

    @Override
    public Stream computeStream() {
        return compute;
    }

    @Override
    public String name() {
        return CudaBackendProvider.NAME;
    }

    @Override
    public Placement placement() {
        return Placement.DEVICE;
    }

    /**
     * Device memory from the rank's pool: after the first step, closing and asking again reuses
     * blocks, so no training step calls cuMemAlloc or cuMemFree (see {@link MemoryPool}).
     */
    @Override
    public Allocation allocate(long bytes) {
        current();
        return deviceMemory.take(bytes);
    }

    /** Page-locked host memory from the rank's pool: {@link #copyAsync} moves it by DMA while the host goes on. */
    @Override
    public Allocation allocateHost(long bytes) {
        current();
        return pinnedMemory.take(bytes);
    }

    /** Device and pinned blocks the pools have made: constant once a training loop is past its first step. */
    int pooledBlocks() {
        return deviceMemory.blocks() + pinnedMemory.blocks();
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

    /**
     * The copy waits for the compute stream's work so far (an event), runs on the copy stream, and
     * marks its end with an event that {@link Pending#await()} makes the compute stream wait for.
     * Completion events come from a ring only the copy stream records: if a Pending is awaited
     * after its event was recorded again by a later copy, the compute stream waits for that later
     * copy too, which is later on the same stream, so the order still holds.
     */
    @Override
    public Pending copyAsync(Tensor src, Tensor dst) {
        current();
        TensorChecks.requireSameDTypeAndCount("copyAsync", src, dst);
        Event ready = computeMarks[nextEvent].record(compute);
        Event done = copyMarks[nextEvent];
        nextEvent = (nextEvent + 1) % EVENTS;
        copies.waitFor(ready);
        DeviceMemory.copy(src, dst.view(src.shape().toArray()), copies);
        done.record(copies);
        return () -> compute.waitFor(done);
    }

    @Override
    public void synchronize() {
        current();
        compute.synchronize();
        copies.synchronize();
    }

    @Override
    public void launch(KernelSignature signature, String variant, Launch geometry, Object... args) {
        launchOn(compute, signature, variant, geometry, args);
    }

    /**
     * The elementwise ops (convert, axpy, fill, copy) issued on {@code stream}, another stream of
     * this backend's context, instead of the compute stream: what a communicator reduces with on
     * its own stream. Ops that need scratch or read a result back are refused there.
     */
    TensorOps tensorsOn(Stream stream) {
        return new CudaTensorOps(new Launcher() {
            @Override
            public void launch(KernelSignature signature, String variant, Launch geometry, Object... args) {
                launchOn(stream, signature, variant, geometry, args);
            }

            @Override
            public void copy(Tensor src, Tensor dst) {
                current();
                TensorChecks.requireSameDTypeAndCount("copy", src, dst);
                DeviceMemory.copy(src, dst.view(src.shape().toArray()), stream);
            }

            @Override
            public MemorySegment scratch(long bytes) {
                throw new UnsupportedOperationException("the backend's scratch is ordered on its compute stream, not on " + stream);
            }

            @Override
            public double readDouble(MemorySegment source) {
                throw new UnsupportedOperationException("reading a result back waits for the compute stream, not for " + stream);
            }

            @Override
            public int sms() {
                return device.multiprocessors();
            }
        });
    }

    private void launchOn(Stream stream, KernelSignature signature, String variant, Launch geometry, Object... args) {
        current();
        LaunchArgs.check(signature, variant, args);
        KernelArgs packed = KernelArgs.of();
        for (Object a : args) {
            switch (a) {
                case Tensor t -> packed.pointer(t);
                case MemorySegment m -> packed.pointer(m);
                case Integer i -> packed.i32(i);
                case Long l -> packed.i64(l);
                case Float f -> packed.f32(f);
                default -> throw new AssertionError(a);
            }
        }
        kernels.kernel(signature, variant).launch(stream, Dim3.of(geometry.gridX(), geometry.gridY()),
                Dim3.of(geometry.blockX(), geometry.blockY()), geometry.sharedBytes(), packed);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        current();
        TensorChecks.requireSameDTypeAndCount("copy", src, dst);
        DeviceMemory.copy(src, dst.view(src.shape().toArray()), compute);
    }

    @Override
    public MemorySegment scratch(long bytes) {
        current();
        return workspace.get(bytes);
    }

    @Override
    public double readDouble(MemorySegment source) {
        current();
        MemorySegment host = scalar.segment();
        DeviceMemory.deviceToHost(source, host, compute);
        compute.synchronize();
        return host.get(ValueLayout.JAVA_DOUBLE, 0);
    }

    @Override
    public int sms() {
        return device.multiprocessors();
    }

    /**
     * Releases everything, even after a sticky fault (which makes every call in the context fail
     * until the context's last retain is released): each step runs, the first failure is thrown
     * at the end with the others suppressed, and the context is released last, so the device
     * comes back clean for the next backend.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<Runnable> steps = new ArrayList<>();
        steps.add(() -> {
            context.makeCurrent();
            compute.synchronize();
            copies.synchronize();
        });
        if (cublas != null) {
            steps.add(cublas::close);
        }
        steps.add(kernels::close);
        steps.add(workspace::close);
        steps.add(deviceMemory::close);
        steps.add(pinnedMemory::close);
        steps.add(scalar::close);
        for (int i = 0; i < EVENTS; i++) {
            steps.add(computeMarks[i]::close);
            steps.add(copyMarks[i]::close);
        }
        steps.add(copies::close);
        steps.add(compute::close);
        steps.add(context::close);
        RuntimeException first = null;
        for (Runnable step : steps) {
            try {
                step.run();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    @Override
    public String toString() {
        return "CudaBackend[" + device + "]";
    }

    /**
     * Makes the context current on the calling thread: cheap, and right even when one thread
     * drives backends on several GPUs in turn.
     */
    private void current() {
        if (closed) {
            throw new IllegalStateException("the cuda backend on GPU " + device.ordinal() + " is closed");
        }
        context.makeCurrent();
    }
}
