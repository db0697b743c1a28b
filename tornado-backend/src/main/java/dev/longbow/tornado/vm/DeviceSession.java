package dev.longbow.tornado.vm;

import dev.longbow.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import uk.ac.manchester.tornado.api.DataRange;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.ImmutableTaskGraph;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.WorkerGrid;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.WorkerGrid2D;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.enums.ProfilerMode;
import uk.ac.manchester.tornado.api.enums.TornadoVMBackendType;
import uk.ac.manchester.tornado.api.exceptions.TornadoInternalError;
import uk.ac.manchester.tornado.api.runtime.TornadoRuntimeProvider;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * One TornadoVM device as Longbow uses it, shared by every backend (rank) of this JVM opened on
 * it, for the life of the JVM: compiled kernels are kept across backends.
 *
 * <p><b>Memory.</b> The device's memory is one heap: a TornadoVM {@link FloatArray} of
 * {@code -Dlongbow.tornado.heap} bytes (default 256m) whose host copy backs every tensor of the
 * device's backends, plus an {@link IntArray} over the same host bytes for the int32 tensors
 * kernels read (token ids, positions). All task graphs live in one execution plan: graph 0
 * puts the heap on the device once, and every other graph consumes the heap from the graph run
 * before it and persists it for the next, so the device buffer is shared by all kernels and
 * stays on the device between them. Kernel arguments travel as a small int and a small float array with
 * every launch, so a graph is built once and reused for any tensors.
 *
 * <p><b>Host view.</b> Kernels write the device copy; the host copy catches up when a backend
 * hands its memory to the host ({@link #toHost}): the ranges kernels wrote since the last
 * hand-over are copied back. A backend that handed memory to the host and then launches again
 * first {@link #refresh}es: the heap up to its highest live allocation goes up (through a staging
 * window and a copy kernel, since TornadoVM only sends whole arrays), carrying its writes and the
 * communicator's.
 *
 * <p><b>No silent fallback.</b> TornadoVM runs a task as sequential Java when it cannot compile
 * it. The session disables that recovery before TornadoVM starts, and runs each kernel's first
 * launch under the profiler to check that the device really executed it.
 */
final class DeviceSession {
    static final String HEAP_PROPERTY = "longbow.tornado.heap";
    private static final String DEFAULT_HEAP = "256m";
    private static final Map<Integer, DeviceSession> SESSIONS = new HashMap<>();
    private static final int STAGE_ELEMENTS = 1 << 20;
    /** Graphs 0 and 1 put the heap on the device and refresh it; kernel graphs follow. */
    private static final int FIRST_KERNEL_GRAPH = 2;

    private final TornadoDevice device;
    private final FloatArray heap;
    private final IntArray ints;
    private final MemorySegment hostHeap;
    private final HeapAllocator allocator;
    private final IntArray args = new IntArray(Launch.INT_SLOTS);
    private final FloatArray scalars = new FloatArray(Launch.FLOAT_SLOTS);
    /** The window through which a refresh sends host memory up; the int view shares its bytes. */
    private final FloatArray stage = new FloatArray(STAGE_ELEMENTS);
    private final IntArray intStage = IntArray.fromSegmentShallow(stage.getSegmentWithHeader());
    private final WorkerGrid1D stageGrid = new WorkerGrid1D(Kernels.THREADS);
    private final TornadoExecutionPlan plan;
    private final Map<Kernel, WorkerGrid> grids = new HashMap<>();
    private final boolean[] verified = new boolean[Kernel.values().length];
    private final List<long[]> dirty = new ArrayList<>();
    private TornadoExecutionResult last;
    private Transfers transfers = new Transfers(0, 0, 0, 0);

    /**
     * What crossed between host and device since the session started: refreshes and the bytes
     * they sent up, downloads of kernel writes and their bytes. Kernels exchanging data do not appear.
     */
    record Transfers(long refreshes, long uploadedBytes, long downloads, long downloadedBytes) {
    }

    private DeviceSession(TornadoDevice device, long heapBytes) {
        this.device = device;
        this.heap = new FloatArray(Math.toIntExact(heapBytes / Float.BYTES));
        heap.init(0f);
        this.ints = IntArray.fromSegmentShallow(heap.getSegmentWithHeader());
        this.hostHeap = heap.getSegment();
        this.allocator = new HeapAllocator(heapBytes);
        KernelContext context = new KernelContext();
        GridScheduler scheduler = new GridScheduler();
        List<ImmutableTaskGraph> graphs = new ArrayList<>();
        // Every graph ends by reading its int arguments back, a blocking transfer: TornadoVM
        // otherwise returns from execute() with the writes and the kernel still queued, and the
        // host would change the arguments (or the heap) under them.
        TaskGraph allocate = new TaskGraph("allocate")
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, heap, ints)
                .task("k", Kernels::allocate, context, heap, ints, args, scalars)
                .persistOnDevice(heap, ints)
                .transferToHost(DataTransferMode.EVERY_EXECUTION, args);
        scheduler.addWorkerGrid("allocate.k", new WorkerGrid1D(1));
        graphs.add(allocate.snapshot());
        TaskGraph stageIn = new TaskGraph("stageIn")
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, stage, intStage, args)
                .consumeFromDevice(heap, ints)
                .task("k", Kernels::stageIn, context, heap, ints, args, stage, intStage)
                .persistOnDevice(heap, ints)
                .transferToHost(DataTransferMode.EVERY_EXECUTION, args);
        stageGrid.setLocalWork(Kernels.THREADS, 1, 1);
        scheduler.addWorkerGrid("stageIn.k", stageGrid);
        graphs.add(stageIn.snapshot());
        for (Kernel kernel : Kernel.values()) {
            TaskGraph graph = new TaskGraph(kernel.id())
                    .transferToDevice(DataTransferMode.EVERY_EXECUTION, args, scalars)
                    .consumeFromDevice(heap, ints);
            try {
                // TornadoVM parses the kernel here; what it cannot parse fails now, not at launch.
                graph.task("k", kernel.body, context, heap, ints, args, scalars);
            } catch (RuntimeException | TornadoInternalError e) {
                throw new IllegalStateException("TornadoVM could not compile kernel '" + kernel.id() + "': " + e.getMessage(), e);
            }
            graph.persistOnDevice(heap, ints).transferToHost(DataTransferMode.EVERY_EXECUTION, args);
            WorkerGrid grid = kernel.localY == 1 ? new WorkerGrid1D(kernel.localX) : new WorkerGrid2D(kernel.localX, kernel.localY);
            grid.setLocalWork(kernel.localX, kernel.localY, 1);
            grids.put(kernel, grid);
            scheduler.addWorkerGrid(kernel.id() + ".k", grid);
            graphs.add(graph.snapshot());
        }
        this.plan = new TornadoExecutionPlan(graphs.toArray(ImmutableTaskGraph[]::new));
        // Without -cl-fast-relaxed-math (TornadoVM's default): it lets the compiler assume that
        // no value is infinite, and -inf is how attention says "no key seen".
        plan.withDevice(device).withGridScheduler(scheduler).withCompilerFlags(TornadoVMBackendType.OPENCL, "-w");
        last = plan.withGraph(0).execute();
    }

    /**
     * The session of device {@code ordinal} modulo the devices of TornadoVM's default backend (ranks
     * that are threads of one JVM may share a device), started on first use.
     */
    static synchronized DeviceSession forOrdinal(int ordinal) {
        // Before TornadoVM reads its options: fail instead of running a kernel as sequential Java,
        // and use the accurate math built-ins (native_cos & co. are far off in double).
        setIfAbsent("tornado.recover.bailout", "False");
        setIfAbsent("tornado.enable.nativeFunctions", "False");
        var backend = TornadoRuntimeProvider.getTornadoRuntime().getBackend(0);
        int index = ordinal % backend.getNumDevices();
        return SESSIONS.computeIfAbsent(index, i -> new DeviceSession(backend.getDevice(i), heapBytes()));
    }

    String deviceName() {
        return device.getDeviceName() + " (" + device.getPlatformName().trim() + ")";
    }

    HeapAllocator allocator() {
        return allocator;
    }

    /** Host memory of heap bytes {@code [offset, offset + bytes)}. */
    MemorySegment hostSlice(long offset, long bytes) {
        return hostHeap.asSlice(offset, bytes);
    }

    boolean contains(Tensor t) {
        long offset = t.data().address() - hostHeap.address();
        return offset >= 0 && offset + t.byteSize() <= hostHeap.byteSize();
    }

    /** The heap element at which {@code t} starts; {@code t} must lie in this device's heap. */
    long elementOffset(Tensor t) {
        long offset = t.data().address() - hostHeap.address();
        if (!contains(t)) {
            throw new IllegalArgumentException(t + " is not in the memory of tornado device " + deviceName()
                    + "; allocate it from this backend or copy it in with tensors().copy");
        }
        if (offset % Float.BYTES != 0) {
            throw new IllegalArgumentException(t + " starts at byte " + offset + " of the heap, not on a 4-byte boundary");
        }
        return offset / Float.BYTES;
    }

    /**
     * Runs one kernel, after {@link #refresh} when the calling backend has handed its memory to
     * the host since its last launch.
     */
    synchronized void launch(Launch launch, boolean refreshFirst) {
        if (refreshFirst) {
            refresh();
        }
        for (int i = 0; i < Launch.INT_SLOTS; i++) {
            args.set(i, launch.ints[i]);
        }
        for (int i = 0; i < Launch.FLOAT_SLOTS; i++) {
            scalars.set(i, launch.floats[i]);
        }
        Kernel kernel = launch.kernel;
        grids.get(kernel).setGlobalWork(Math.toIntExact(launch.globalX), Math.toIntExact(launch.globalY), 1);
        last = execute(plan, kernel.ordinal() + FIRST_KERNEL_GRAPH, kernel.id(), deviceName(), !verified[kernel.ordinal()]);
        verified[kernel.ordinal()] = true;
        dirty.addAll(launch.writes);
    }

    /**
     * Runs graph {@code graph} of {@code plan}, turning TornadoVM's failures into errors that
     * name the kernel. With {@code verify} (a kernel's first launch) it runs under the profiler
     * and fails unless the device reported time for the kernel: TornadoVM started with
     * {@code tornado.recover.bailout=True} runs a kernel it cannot compile as sequential Java
     * instead, and only the missing device time tells.
     */
    static TornadoExecutionResult execute(TornadoExecutionPlan plan, int graph, String kernel, String device, boolean verify) {
        if (verify) {
            plan.withProfiler(ProfilerMode.SILENT);
        }
        TornadoExecutionResult result;
        try {
            result = plan.withGraph(graph).execute();
        } catch (RuntimeException | TornadoInternalError e) {
            // Compile failures surface as bailouts, internal errors or plain exceptions from the code generator.
            throw new IllegalStateException("TornadoVM could not run kernel '" + kernel + "' on " + device + ": " + e, e);
        } finally {
            if (verify) {
                plan.withoutProfiler();
            }
        }
        if (verify && result.getProfilerResult().getDeviceKernelTime() <= 0) {
            throw new IllegalStateException("TornadoVM did not run kernel '" + kernel + "' on " + device
                    + ": it fell back to sequential Java (bailout); rerun with -Dtornado.debug=True to see why");
        }
        return result;
    }

    /** Copies back to the host copy of the heap every range a kernel wrote since the last call. */
    synchronized void toHost() {
        if (dirty.isEmpty()) {
            return;
        }
        dirty.sort(Comparator.comparingLong(r -> r[0]));
        long start = dirty.getFirst()[0];
        long end = start;
        for (long[] range : dirty) {
            // Only overlapping or touching ranges merge: a gap may hold host writes the device has not seen.
            if (range[0] > end) {
                download(start, end);
                start = range[0];
            }
            end = Math.max(end, range[0] + range[1]);
        }
        download(start, end);
        dirty.clear();
    }

    /**
     * Frees heap bytes {@code [offset, offset + bytes)}, first forgetting kernel writes to them
     * that have not come back yet: copied back later they would land on whoever gets the memory next.
     */
    synchronized void release(long offset, long bytes) {
        long from = offset / Float.BYTES;
        long to = (offset + bytes + Float.BYTES - 1) / Float.BYTES;
        List<long[]> kept = new ArrayList<>();
        for (long[] range : dirty) {
            long end = range[0] + range[1];
            if (end <= from || range[0] >= to) {
                kept.add(range);
                continue;
            }
            if (range[0] < from) {
                kept.add(new long[] {range[0], from - range[0]});
            }
            if (end > to) {
                kept.add(new long[] {to, end - to});
            }
        }
        dirty.clear();
        dirty.addAll(kept);
        allocator.free(offset);
    }

    /** Makes the device copy equal to the host copy: the kernels' writes come back first, then the live heap goes up. */
    synchronized void refresh() {
        toHost();
        long span = allocator.highWater();
        long stageBytes = (long) STAGE_ELEMENTS * Float.BYTES;
        for (long offset = 0; offset < span; offset += stageBytes) {
            long bytes = Math.min(stageBytes, span - offset);
            MemorySegment.copy(hostHeap, offset, stage.getSegment(), 0, bytes);
            args.set(0, Math.toIntExact(offset / Float.BYTES));
            args.set(1, Math.toIntExact(bytes / Float.BYTES));
            stageGrid.setGlobalWork(Math.toIntExact((bytes / Float.BYTES + Kernels.THREADS - 1) / Kernels.THREADS * Kernels.THREADS), 1, 1);
            last = execute(plan, 1, "stageIn", deviceName(), false);
        }
        transfers = new Transfers(transfers.refreshes() + 1, transfers.uploadedBytes() + span, transfers.downloads(),
                transfers.downloadedBytes());
    }

    synchronized Transfers transfers() {
        return transfers;
    }

    private void download(long start, long end) {
        if (end > start) {
            last.transferToHost(new DataRange(heap).withOffset(start).withSize(end - start));
            transfers = new Transfers(transfers.refreshes(), transfers.uploadedBytes(), transfers.downloads() + 1,
                    transfers.downloadedBytes() + (end - start) * Float.BYTES);
        }
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    private static long heapBytes() {
        String spec = System.getProperty(HEAP_PROPERTY, DEFAULT_HEAP).trim().toLowerCase(Locale.ROOT);
        long unit = switch (spec.isEmpty() ? ' ' : spec.charAt(spec.length() - 1)) {
            case 'k' -> 1L << 10;
            case 'm' -> 1L << 20;
            case 'g' -> 1L << 30;
            default -> 1;
        };
        try {
            long bytes = Long.parseLong(unit == 1 ? spec : spec.substring(0, spec.length() - 1)) * unit;
            long limit = (long) Integer.MAX_VALUE * Float.BYTES / 2;
            if (bytes < (1 << 20) || bytes > limit) {
                throw new IllegalArgumentException("-D" + HEAP_PROPERTY + "=" + spec + " must be between 1m and " + HeapAllocator.mib(limit));
            }
            return bytes / 256 * 256;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + HEAP_PROPERTY + "=" + spec + " is not a size such as 512m or 2g", e);
        }
    }
}
