package dev.longbow.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongFunction;

/**
 * A backend's memory kept across steps: a block handed out here goes back to the pool when its
 * lease is closed, and the next request of the same rounded size gets it again, so after the
 * first step every request is served from the pool. On a GPU, {@code cuMemFree} and
 * {@code cuMemFreeHost} synchronise the device (and serialise with other threads' launches, the
 * single-process multi-GPU NCCL hang), so a training step must neither allocate nor free. On the
 * CPU, fresh host memory is zeroed and, past glibc's mmap threshold, page-faulted in afresh on
 * every allocation (~10 us a 4 KiB page in a VM: measured, a tiny-model step at 4096 tokens took
 * 150,000 minor faults and 60% longer in some steps without the pool, none with it).
 *
 * <p>Reuse is ordered on the rank's compute stream, where the next owner's work goes, and the
 * copy and communication streams start every operation after the compute stream's work so far.
 * So a lease may be closed as soon as its work is issued, provided work on another stream that
 * touches it was awaited first ({@code Pending.await()}). A reused block holds what its last
 * owner left: nothing handed out here is zeroed.
 *
 * <p>A closed lease's views are invalid, as a freed buffer's are. The pool frees its blocks when
 * closed, or when an allocation fails (the device or the host is full; then it retries once).
 */
public final class MemoryPool implements AutoCloseable {
    /** Requests are rounded up to this, the driver's allocation granularity for small blocks. */
    static final long GRANULE = 512;

    private final String what;
    private final LongFunction<Allocation> allocator;
    private final Map<Long, ArrayDeque<Allocation>> idle = new HashMap<>();
    private final List<Allocation> all = new ArrayList<>();
    private boolean closed;

    /**
     * @param what      for messages: "device memory of GPU 0"
     * @param allocator makes a new block ({@code DeviceBuffer::allocate}, {@code PinnedBuffer::allocate},
     *                  {@code HostAllocation::new})
     */
    public MemoryPool(String what, LongFunction<Allocation> allocator) {
        this.what = what;
        this.allocator = allocator;
    }

    /** A lease of at least {@code bytes}; its segment has exactly {@code bytes}. */
    public synchronized Allocation take(long bytes) {
        if (closed) {
            throw new IllegalStateException("the pool of " + what + " is closed");
        }
        if (bytes <= 0) {
            throw new IllegalArgumentException("allocation of " + bytes + " bytes of " + what + "; it must be positive");
        }
        long size = (bytes + GRANULE - 1) / GRANULE * GRANULE;
        ArrayDeque<Allocation> free = idle.get(size);
        Allocation block = free == null || free.isEmpty() ? allocate(size) : free.pop();
        return new Lease(block, bytes);
    }

    /** Blocks made so far: constant once every step's requests have been seen. */
    public synchronized int blocks() {
        return all.size();
    }

    /** Bytes of all blocks, in use or idle. */
    public synchronized long bytes() {
        return all.stream().mapToLong(b -> b.segment().byteSize()).sum();
    }

    private Allocation allocate(long size) {
        Allocation block;
        try {
            block = allocator.apply(size);
        } catch (RuntimeException | OutOfMemoryError full) {
            // Out of device memory, or malloc refused the host block: idle blocks of other
            // sizes may make room. Any other failure fails again on the retry.
            if (!releaseIdle()) {
                throw full;
            }
            block = allocator.apply(size);
        }
        all.add(block);
        return block;
    }

    /** Frees the idle blocks; whether there were any. */
    private boolean releaseIdle() {
        boolean any = false;
        for (ArrayDeque<Allocation> free : idle.values()) {
            for (Allocation block : free) {
                all.remove(block);
                block.close();
                any = true;
            }
            free.clear();
        }
        return any;
    }

    private synchronized void giveBack(Allocation block) {
        if (closed) {
            return;  // freed with the pool
        }
        idle.computeIfAbsent(block.segment().byteSize(), size -> new ArrayDeque<>()).push(block);
    }

    /** Frees every block, leased or idle: leases still open are invalid after this. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        RuntimeException first = null;
        for (Allocation block : all) {
            try {
                block.close();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        all.clear();
        idle.clear();
        if (first != null) {
            throw first;
        }
    }

    /** One use of a block: its own view of the block, invalid once closed. */
    private final class Lease implements Allocation {
        private final Allocation block;
        private final Arena view = Arena.ofShared();
        private final MemorySegment segment;

        Lease(Allocation block, long bytes) {
            this.block = block;
            this.segment = MemorySegment.ofAddress(block.segment().address()).reinterpret(bytes, view, null);
        }

        @Override
        public MemorySegment segment() {
            return segment;
        }

        @Override
        public Placement placement() {
            return block.placement();
        }

        @Override
        public void close() {
            if (view.scope().isAlive()) {
                view.close();
                giveBack(block);
            }
        }

        @Override
        public String toString() {
            return "pooled " + block;
        }
    }
}
