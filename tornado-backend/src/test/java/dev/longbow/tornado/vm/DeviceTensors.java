package dev.longbow.tornado.vm;

import dev.longbow.backend.Backend;
import dev.longbow.backend.Backends;
import dev.longbow.tensor.Allocation;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Tensor;
import dev.longbow.testing.HostTensors;
import java.util.ArrayList;
import java.util.List;

/**
 * Tensors in a tornado backend's memory for tests: host tensors copied in, results copied out
 * through {@code tensors().copy}, everything freed on close. One backend serves a whole test JVM
 * (compiled kernels are kept per device), the CPU backend is the oracle.
 */
final class DeviceTensors implements AutoCloseable {
    static final Backend TORNADO = Backends.open("tornado", 0);
    static final Backend CPU = Backends.open("cpu", 0);

    private final Backend backend;
    private final List<Allocation> allocations = new ArrayList<>();

    DeviceTensors() {
        this(TORNADO);
    }

    DeviceTensors(Backend backend) {
        this.backend = backend;
    }

    /** A new tensor, zero when fp32 (other dtypes are meant to be {@link #put}). */
    Tensor zeros(DType dtype, long... dims) {
        Shape shape = Shape.of(dims);
        Allocation a = backend.allocate(shape.numel() * dtype.byteSize());
        allocations.add(a);
        Tensor t = new Tensor(a.segment().asSlice(0, shape.numel() * dtype.byteSize()), dtype, shape, a.placement());
        if (dtype == DType.F32) {
            backend.tensors().fill(t, 0f);
        }
        return t;
    }

    /** A device copy of host tensor {@code host}. */
    Tensor put(Tensor host) {
        Tensor t = zeros(host.dtype(), host.shape().toArray());
        backend.tensors().copy(host, t);
        return t;
    }

    /** The device tensor's values, copied to the host. */
    double[] get(Tensor device) {
        try (HostTensors mem = new HostTensors()) {
            Tensor host = mem.zeros(device.dtype(), device.shape().toArray());
            backend.tensors().copy(device, host);
            return HostTensors.toDoubles(host);
        }
    }

    @Override
    public void close() {
        allocations.forEach(Allocation::close);
    }
}
