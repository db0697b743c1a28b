package dev.longbow.comm;

import dev.longbow.backend.Backend;
import dev.longbow.tensor.Allocation;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.HostAllocation;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * A test rank's tensors in its backend's memory, filled and read back through host staging so
 * the same test runs on host and device backends. Closing it frees them all.
 */
public final class RankMemory implements AutoCloseable {
    private final Backend backend;
    private final List<Allocation> owned = new ArrayList<>();

    public RankMemory(Backend backend) {
        this.backend = backend;
    }

    public Tensor zeros(DType dtype, long... dims) {
        Allocation a = backend.allocate(Math.max(1, Shape.of(dims).numel() * dtype.byteSize()));
        owned.add(a);
        Tensor t = new Tensor(a.segment().asSlice(0, Shape.of(dims).numel() * dtype.byteSize()), dtype, Shape.of(dims), a.placement());
        backend.tensors().fill(t, 0f);
        return t;
    }

    /** A tensor holding {@code values} (rounded to {@code dtype}). */
    public Tensor upload(DType dtype, float[] values, long... dims) {
        Tensor t = zeros(dtype, dims);
        if (values.length != t.numel()) {
            throw new IllegalArgumentException(values.length + " values for shape " + t.shape());
        }
        try (HostAllocation staging = new HostAllocation(t.byteSize())) {
            Tensor host = HostAllocation.tensor(staging, dtype, dims);
            for (int i = 0; i < values.length; i++) {
                host.setFloat(i, values[i]);
            }
            backend.tensors().copy(host, t);
            backend.synchronize();
        }
        return t;
    }

    /** {@code t}'s elements widened to float, after all work issued on the backend has finished. */
    public float[] download(Tensor t) {
        backend.synchronize();
        if (t.placement() == Placement.HOST) {
            return read(t);
        }
        try (HostAllocation staging = new HostAllocation(t.byteSize())) {
            Tensor host = HostAllocation.tensor(staging, t.dtype(), t.shape().toArray());
            backend.tensors().copy(t, host);
            backend.synchronize();
            return read(host);
        }
    }

    private static float[] read(Tensor t) {
        float[] out = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < out.length; i++) {
            out[i] = t.getFloat(i);
        }
        return out;
    }

    public Backend backend() {
        return backend;
    }

    @Override
    /**
     * Waits for the rank's work, then frees: on a GPU a free drains the device while holding the
     * driver's lock, so freeing under a collective a peer has not yet launched hangs both ranks.
     */
    public void close() {
        backend.synchronize();
        owned.forEach(Allocation::close);
    }
}
