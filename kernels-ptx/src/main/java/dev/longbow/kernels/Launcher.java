package dev.longbow.kernels;

import dev.longbow.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * What the op classes need from a rank's GPU: kernel launches and copies on its compute stream,
 * in program order, and scratch memory. {@link CudaBackend} is the implementation; tests of
 * argument and grid computation record the calls instead.
 */
interface Launcher {

    /**
     * Launches {@code signature}'s {@code variant} on the compute stream. Arguments follow the
     * signature: a {@link Tensor} or a device {@link MemorySegment} for a pointer, Integer for
     * I32, Long for I64, Float for F32; {@link LaunchArgs#check} refuses anything else.
     */
    void launch(KernelSignature signature, String variant, Launch geometry, Object... args);

    /** Copies {@code src} to {@code dst} (same byte size, any placements) on the compute stream. */
    void copy(Tensor src, Tensor dst);

    /**
     * Device scratch of at least {@code bytes}, 256-byte aligned, for the kernels issued next:
     * valid until the next call, which may reuse it (work on the one compute stream is ordered).
     */
    MemorySegment scratch(long bytes);

    /** Waits for the compute stream and returns the fp64 value at device address {@code source}. */
    double readDouble(MemorySegment source);

    /** Streaming multiprocessors of the device: the grid-stride kernels size their grids by it. */
    int sms();
}
