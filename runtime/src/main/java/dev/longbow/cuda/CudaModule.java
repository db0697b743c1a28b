package dev.longbow.cuda;

import static dev.longbow.bindings.cuda.cuda_h.*;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;

/**
 * A module loaded into the current context from PTX (JIT-compiled by the driver for this GPU) or
 * a cubin. Owns its kernels: they are valid until {@link #close()} unloads the module.
 */
public final class CudaModule implements AutoCloseable {
    private static final int LOG_BYTES = 16 * 1024;
    /** CUDA_ERROR_UNSUPPORTED_PTX_VERSION: the PTX ISA version is newer than the driver's JIT. */
    private static final int UNSUPPORTED_PTX_VERSION = 222;

    private final String name;
    private final MemorySegment handle;
    private final Map<String, Kernel> kernels = new HashMap<>();
    private boolean closed;

    private CudaModule(String name, MemorySegment handle) {
        this.name = name;
        this.handle = handle;
    }

    /**
     * Loads the PTX resource {@code resource} found next to {@code anchor} (as
     * {@link Class#getResourceAsStream}). In a named module the resource's package must be open
     * to {@code dev.longbow.runtime}, or read the bytes yourself and call {@link #load}.
     */
    public static CudaModule loadResource(Class<?> anchor, String resource) {
        try (InputStream in = anchor.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalArgumentException("no resource " + resource + " next to " + anchor.getName());
            }
            return load(resource, in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + resource, e);
        }
    }

    /**
     * Loads {@code image} (PTX text or a cubin) with {@code cuModuleLoadDataEx}; a failed JIT
     * compilation throws a {@link CudaException} carrying the JIT's error log.
     */
    public static CudaModule load(String name, byte[] image) {
        CudaDriver.require();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment imageZ = arena.allocate(image.length + 1L);
            imageZ.copyFrom(MemorySegment.ofArray(image));
            MemorySegment errorLog = arena.allocate(LOG_BYTES);
            MemorySegment infoLog = arena.allocate(LOG_BYTES);
            int[] options = {CU_JIT_ERROR_LOG_BUFFER(), CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES(),
                    CU_JIT_INFO_LOG_BUFFER(), CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES()};
            MemorySegment optionValues = arena.allocate(ValueLayout.ADDRESS, options.length);
            optionValues.setAtIndex(ValueLayout.ADDRESS, 0, errorLog);
            optionValues.setAtIndex(ValueLayout.JAVA_LONG, 1, LOG_BYTES);
            optionValues.setAtIndex(ValueLayout.ADDRESS, 2, infoLog);
            optionValues.setAtIndex(ValueLayout.JAVA_LONG, 3, LOG_BYTES);
            MemorySegment module = arena.allocate(C_POINTER);
            int result = cuModuleLoadDataEx(module, imageZ, options.length, arena.allocateFrom(C_INT, options), optionValues);
            if (result != 0) {
                String log = errorLog.getString(0).strip();
                String driver = result == UNSUPPORTED_PTX_VERSION
                        ? " (the PTX is newer than this driver, which supports CUDA " + Cuda.driverVersion() / 1000 + "."
                                + Cuda.driverVersion() % 1000 / 10 + ": regenerate it with an older nvcc or update the driver)"
                        : "";
                throw CudaException.of("cuModuleLoadDataEx", result, "loading " + name + driver
                        + (log.isEmpty() ? "" : ", JIT error log:\n" + log));
            }
            return new CudaModule(name, module.get(C_POINTER, 0));
        }
    }

    /** The kernel (an {@code extern "C" __global__} function) of that name. */
    public synchronized Kernel kernel(String kernelName) {
        requireOpen();
        return kernels.computeIfAbsent(kernelName, k -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment function = arena.allocate(C_POINTER);
                int result = cuModuleGetFunction(function, handle, arena.allocateFrom(k));
                if (result != 0) {
                    throw CudaException.of("cuModuleGetFunction", result, "kernel '" + k + "' in module " + name
                            + " (is it extern \"C\"? C++ names are mangled)");
                }
                return new Kernel(this, k, function.get(C_POINTER, 0));
            }
        });
    }

    public String name() {
        return name;
    }

    synchronized void requireOpen() {
        if (closed) {
            throw new IllegalStateException("module " + name + " is unloaded");
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            CudaException.check("cuModuleUnload", cuModuleUnload(handle));
        }
    }
}
