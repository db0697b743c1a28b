package dev.longbow.samples;

import dev.longbow.backend.AttentionParams;
import dev.longbow.backend.Backend;
import dev.longbow.parallel.AttentionShape;
import dev.longbow.tensor.DType;
import dev.longbow.tensor.HostAllocation;
import dev.longbow.tensor.Slab;
import dev.longbow.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;

/** The attention tensors of one rank (or of the whole sequence) in a backend's memory, as one slab. */
record DeviceShards(Backend backend, AttentionShape shape, long rows, Slab slab) implements AutoCloseable {

    static DeviceShards upload(Backend backend, AttentionShape shape, Shards inputs) {
        long rows = inputs.rows();
        Slab.Builder b = Slab.builder();
        for (String name : new String[] {"q", "k", "v", "dout", "out", "dq", "dk", "dv"}) {
            b.add(name, shape.dtype(), rows, Shards.width(shape, name) / shape.headDim(), shape.headDim());
        }
        b.add("lse", DType.F32, rows, shape.heads());
        DeviceShards d = new DeviceShards(backend, shape, rows, b.allocate(backend::allocate));
        for (String name : Shards.INPUTS) {
            d.write(d.slab.get(name), inputs.get(name));
        }
        return d;
    }

    Tensor q() {
        return slab.get("q");
    }

    Tensor k() {
        return slab.get("k");
    }

    Tensor v() {
        return slab.get("v");
    }

    Tensor dout() {
        return slab.get("dout");
    }

    Tensor out() {
        return slab.get("out");
    }

    Tensor lse() {
        return slab.get("lse");
    }

    Tensor dq() {
        return slab.get("dq");
    }

    Tensor dk() {
        return slab.get("dk");
    }

    Tensor dv() {
        return slab.get("dv");
    }

    /** Forward and backward over all rows at once on this device; gradients through fp32 accumulators. */
    void attendWhole(boolean causal) {
        AttentionParams params = AttentionParams.of(shape.headDim(), causal);
        backend.attention().forward(q(), k(), v(), out(), lse(), params);
        Slab.Builder b = Slab.builder();
        for (String name : new String[] {"dq", "dk", "dv"}) {
            b.add(name, DType.F32, slab.get(name).shape().toArray());
        }
        try (Slab acc = b.allocate(backend::allocate)) {
            for (String name : new String[] {"dq", "dk", "dv"}) {
                backend.tensors().fill(acc.get(name), 0f);
            }
            backend.attention().backward(q(), k(), v(), out(), lse(), dout(), acc.get("dq"), acc.get("dk"), acc.get("dv"), params);
            for (String name : new String[] {"dq", "dk", "dv"}) {
                backend.tensors().convert(acc.get(name), slab.get(name));
            }
            backend.synchronize();
        }
    }

    Shards download() {
        Map<String, float[]> t = new LinkedHashMap<>();
        for (String name : Shards.RESULTS) {
            t.put(name, read(slab.get(name)));
        }
        return new Shards(rows, t);
    }

    private void write(Tensor dst, float[] values) {
        try (HostAllocation staging = new HostAllocation(dst.byteSize())) {
            Tensor host = HostAllocation.tensor(staging, dst.dtype(), dst.shape().toArray());
            for (int i = 0; i < values.length; i++) {
                host.setFloat(i, values[i]);
            }
            backend.tensors().copy(host, dst);
            backend.synchronize();
        }
    }

    private float[] read(Tensor src) {
        try (HostAllocation staging = new HostAllocation(src.byteSize())) {
            Tensor host = HostAllocation.tensor(staging, src.dtype(), src.shape().toArray());
            backend.tensors().copy(src, host);
            backend.synchronize();
            float[] values = new float[Math.toIntExact(src.numel())];
            for (int i = 0; i < values.length; i++) {
                values[i] = host.getFloat(i);
            }
            return values;
        }
    }

    @Override
    public void close() {
        slab.close();
    }
}
