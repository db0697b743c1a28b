package dev.longbow.cuda;

import static dev.longbow.bindings.cuda.cuda_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** A kernel of a loaded {@link CudaModule}; every launch names its stream. */
public final class Kernel {
    /** Dynamic shared memory a block may use without opting in. */
    public static final int DEFAULT_DYNAMIC_SHARED_LIMIT = 48 * 1024;

    private final CudaModule module;
    private final String name;
    private final MemorySegment handle;
    private int dynamicSharedLimit = DEFAULT_DYNAMIC_SHARED_LIMIT;
    private int maxThreadsPerBlock;

    Kernel(CudaModule module, String name, MemorySegment handle) {
        this.module = module;
        this.name = name;
        this.handle = handle;
    }

    /**
     * Launches on {@code stream}. A {@code sharedBytes} above 48 KiB first raises the kernel's
     * dynamic shared memory limit (up to the device's opt-in maximum).
     */
    public void launch(Stream stream, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args) {
        module.requireOpen();
        if (block.volume() > maxThreadsPerBlock()) {
            throw new IllegalArgumentException("kernel " + name + ": block " + block + " has " + block.volume()
                    + " threads, more than its limit " + maxThreadsPerBlock());
        }
        if (sharedBytes > dynamicSharedLimit) {
            setMaxDynamicSharedMemory(sharedBytes);
        }
        try (Arena arena = Arena.ofConfined()) {
            int result = cuLaunchKernel(handle, grid.x(), grid.y(), grid.z(), block.x(), block.y(), block.z(),
                    sharedBytes, stream.handle(), args.pack(arena), MemorySegment.NULL);
            if (result != 0) {
                throw CudaException.of("cuLaunchKernel", result, "kernel " + name + " grid " + grid + " block " + block
                        + " shared " + sharedBytes + " B on stream '" + stream.name() + "' with " + args.size() + " args");
            }
        }
    }

    /** Lets launches use up to {@code bytes} of dynamic shared memory (above 48 KiB needs this opt-in). */
    public synchronized void setMaxDynamicSharedMemory(int bytes) {
        int result = cuFuncSetAttribute(handle, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES(), bytes);
        if (result != 0) {
            throw CudaException.of("cuFuncSetAttribute", result, "kernel " + name + ": " + bytes
                    + " bytes of dynamic shared memory (plus " + staticSharedBytes() + " static) exceed what the device allows a block");
        }
        dynamicSharedLimit = bytes;
    }

    /** The most threads a block of this kernel may have (its register use can make it less than 1024). */
    public synchronized int maxThreadsPerBlock() {
        if (maxThreadsPerBlock == 0) {
            maxThreadsPerBlock = attribute(CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK());
        }
        return maxThreadsPerBlock;
    }

    public int registersPerThread() {
        return attribute(CU_FUNC_ATTRIBUTE_NUM_REGS());
    }

    public int staticSharedBytes() {
        return attribute(CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES());
    }

    public int localBytesPerThread() {
        return attribute(CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES());
    }

    private int attribute(int attribute) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(C_INT);
            CudaException.check("cuFuncGetAttribute", cuFuncGetAttribute(value, attribute, handle));
            return value.get(C_INT, 0);
        }
    }

    public String name() {
        return name;
    }

    @Override
    public String toString() {
        return "Kernel[" + name + " in " + module.name() + "]";
    }
}
