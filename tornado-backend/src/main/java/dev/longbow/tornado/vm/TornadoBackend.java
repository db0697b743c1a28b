package dev.longbow.tornado.vm;

import dev.longbow.backend.AttentionOps;
import dev.longbow.backend.Backend;
import dev.longbow.backend.ModelOps;
import dev.longbow.backend.Pending;
import dev.longbow.backend.TensorOps;
import dev.longbow.tensor.Allocation;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.HashSet;
import java.util.Set;

/**
 * One rank on a TornadoVM device. Its tensors are slices of the device heap ({@link DeviceSession})
 * and are {@link Placement#HOST}: the host may read and write them between {@link #synchronize()}
 * and the next operation, which is when the host view is current. Every operation is a kernel
 * launch that returns when the kernel has finished, so program order is stream order.
 *
 * <p>Computes in fp32; int32 tensors (token ids, positions, targets) are written by the host and
 * read by kernels. 16-bit tensors are refused with a message.
 */
public final class TornadoBackend implements Backend {
    public static final String NAME = "tornado";

    private final DeviceSession session;
    private final TornadoTensorOps tensors = new TornadoTensorOps(this);
    private final TornadoAttention attention = new TornadoAttention(this);
    private final TornadoModelOps model = new TornadoModelOps(this);
    private final Set<HeapAllocation> live = new HashSet<>();
    /**
     * Set when this rank handed memory to the host: its next launch brings the device up to date
     * first. A new backend starts that way, so its fresh memory may be written from the host.
     */
    private volatile boolean handedToHost = true;
    private boolean closed;

    private TornadoBackend(DeviceSession session) {
        this.session = session;
    }

    /** Opens a backend on device {@code ordinal}; called by the provider. */
    public static Backend open(int ordinal) {
        return new TornadoBackend(DeviceSession.forOrdinal(ordinal));
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Placement placement() {
        return Placement.HOST;
    }

    @Override
    public synchronized Allocation allocate(long bytes) {
        requireOpen();
        HeapAllocation a = new HeapAllocation(session.allocator().allocate(bytes), bytes);
        live.add(a);
        return a;
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

    /** A copy finishes before the call returns; the returned work is already done. */
    @Override
    public Pending copyAsync(Tensor src, Tensor dst) {
        tensors.copy(src, dst);
        return Pending.DONE;
    }

    /** Kernels have finished when they return; this hands the memory to the host (see the class comment). */
    @Override
    public void synchronize() {
        hostView(true);
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            for (HeapAllocation a : Set.copyOf(live)) {
                a.close();
            }
        }
    }

    /** The device this backend runs on, e.g. for benchmark reports. */
    public String deviceName() {
        return session.deviceName();
    }

    void launch(Launch launch) {
        requireOpen();
        boolean refresh = handedToHost;
        handedToHost = false;
        session.launch(launch, refresh);
    }

    /** Heap element offset of a tensor of this device, which must be fp32 (or int32 where {@code ints} allows it). */
    long at(String name, Tensor t, DType dtype) {
        if (t.dtype() != dtype) {
            throw new IllegalArgumentException(name + " must be " + dtype + " on the tornado backend (it computes in fp32), got " + t);
        }
        return session.elementOffset(t);
    }

    DeviceSession session() {
        return session;
    }

    boolean holds(Tensor t) {
        return session.contains(t);
    }

    /**
     * Makes the host copy current: kernels' writes come back. {@code hostWrites}: the host is
     * about to write device memory, so the next launch must first send the heap up again.
     */
    void hostView(boolean hostWrites) {
        requireOpen();
        session.toHost();
        if (hostWrites) {
            handedToHost = true;
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("tornado backend on " + session.deviceName() + " is closed");
        }
    }

    /** A range of the device heap, freed on close. */
    private final class HeapAllocation implements Allocation {
        private final long offset;
        private final long bytes;
        private final MemorySegment segment;
        private boolean freed;

        HeapAllocation(long offset, long bytes) {
            this.offset = offset;
            this.bytes = bytes;
            this.segment = session.hostSlice(offset, bytes);
        }

        @Override
        public MemorySegment segment() {
            return segment;
        }

        @Override
        public Placement placement() {
            return Placement.HOST;
        }

        @Override
        public void close() {
            synchronized (TornadoBackend.this) {
                if (!freed) {
                    freed = true;
                    live.remove(this);
                    session.release(offset, bytes);
                }
            }
        }
    }
}
