package dev.longbow.kernels;

import dev.longbow.backend.Backend;
import dev.longbow.tensor.Allocation;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Tensor;
import dev.longbow.testing.HostTensors;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Device tensors for GPU tests, each in its own allocation between two guard zones of a known
 * byte pattern, so a kernel writing outside its tensor is caught ({@link #assertGuardsIntact}).
 * Outputs start poisoned with NaN (I32: Integer.MAX_VALUE), so an element a kernel forgets to
 * write shows up as NaN in the comparison. A tensor may start a few elements past a 256-byte
 * boundary, to drive the kernels' unaligned paths: it stays aligned to its element size, as every
 * tensor must be (a GPU faults on a misaligned scalar load).
 */
final class DeviceTensors implements AutoCloseable {
    private static final int GUARD = 256;
    private static final byte SENTINEL = 0x5a;

    private record Guarded(Allocation allocation, Tensor raw, long start, long bytes) {
    }

    private final Backend backend;
    private final HostTensors host = new HostTensors();
    private final List<Guarded> all = new ArrayList<>();

    DeviceTensors(Backend backend) {
        this.backend = backend;
    }

    /** A device tensor whose elements are NaN. */
    Tensor poisoned(DType dtype, long... dims) {
        return poisonedAt(0, dtype, dims);
    }

    /** A poisoned device tensor starting {@code offsetElements} elements past a 256-byte boundary. */
    Tensor poisonedAt(long offsetElements, DType dtype, long... dims) {
        Tensor staging = host.zeros(dtype, dims);
        for (long i = 0; i < staging.numel(); i++) {
            if (dtype == DType.I32) {
                staging.setInt(i, Integer.MAX_VALUE);
            } else {
                staging.setFloat(i, Float.NaN);
            }
        }
        return uploadAt(offsetElements, staging);
    }

    /** A device copy of a host tensor. */
    Tensor upload(Tensor values) {
        return uploadAt(0, values);
    }

    /** A device copy of a host tensor starting {@code offsetElements} elements past a 256-byte boundary. */
    Tensor uploadAt(long offsetElements, Tensor values) {
        long misalign = offsetElements * values.dtype().byteSize();
        if (offsetElements < 0 || misalign >= GUARD) {
            throw new IllegalArgumentException("offset of " + offsetElements + " elements must be in [0, " + GUARD + ") bytes");
        }
        long bytes = values.byteSize();
        long total = 2L * GUARD + (misalign + bytes + GUARD - 1) / GUARD * GUARD;
        Allocation allocation = backend.allocate(total);
        Tensor raw = new Tensor(allocation.segment(), DType.BF16, Shape.of(total / 2), allocation.placement());
        Tensor image = host.zeros(DType.BF16, total / 2);
        image.data().fill(SENTINEL);
        MemorySegment.copy(values.data(), 0, image.data(), GUARD + misalign, bytes);
        backend.tensors().copy(image, raw);
        backend.synchronize();
        all.add(new Guarded(allocation, raw, GUARD + misalign, bytes));
        return new Tensor(allocation.segment().asSlice(GUARD + misalign, bytes), values.dtype(), values.shape(), allocation.placement());
    }

    /** The device tensor's values, after all work issued so far. */
    double[] download(Tensor device) {
        Tensor staging = host.zeros(device.dtype(), device.shape().toArray());
        backend.tensors().copy(device, staging);
        backend.synchronize();
        return HostTensors.toDoubles(staging);
    }

    int[] downloadInts(Tensor device) {
        Tensor staging = host.zeros(DType.I32, device.shape().toArray());
        backend.tensors().copy(device, staging);
        backend.synchronize();
        return staging.data().toArray(ValueLayout.JAVA_INT);
    }

    /** Fails naming the first byte outside a tensor that a kernel overwrote. */
    void assertGuardsIntact() {
        for (Guarded g : all) {
            Tensor image = host.zeros(DType.BF16, g.raw.numel());
            backend.tensors().copy(g.raw, image);
            backend.synchronize();
            byte[] b = image.data().toArray(ValueLayout.JAVA_BYTE);
            for (long i = 0; i < b.length; i++) {
                boolean inside = i >= g.start && i < g.start + g.bytes;
                if (!inside && b[(int) i] != SENTINEL) {
                    long offset = i < g.start ? i - g.start : i - (g.start + g.bytes);
                    throw new AssertionError("a kernel wrote " + (i < g.start ? -offset : offset + 1) + " bytes "
                            + (i < g.start ? "before" : "past the end of") + " a tensor of " + g.bytes + " bytes");
                }
            }
        }
    }

    HostTensors host() {
        return host;
    }

    @Override
    public void close() {
        backend.synchronize();
        all.forEach(g -> g.allocation.close());
        all.clear();
        host.close();
    }
}
