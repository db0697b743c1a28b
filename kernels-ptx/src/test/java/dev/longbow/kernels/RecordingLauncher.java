package dev.longbow.kernels;

import dev.longbow.tensor.DType;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link Launcher} that checks and records launches instead of running them, over fake device
 * addresses that are never dereferenced: the op classes' argument and grid computation, tested
 * without a GPU.
 */
final class RecordingLauncher implements Launcher {
    record Call(String entry, Launch geometry, List<Object> args) {
    }

    final List<Call> calls = new ArrayList<>();
    private long nextAddress = 1L << 32;

    /** A DEVICE tensor at a fresh fake address, 256-byte aligned, plus {@code offset} bytes. */
    Tensor deviceAt(DType dtype, long offset, long... dims) {
        long bytes = Shape.of(dims).numel() * dtype.byteSize();
        MemorySegment segment = MemorySegment.ofAddress(nextAddress + offset).reinterpret(bytes);
        nextAddress += (bytes + offset + 255) / 256 * 256 + 256;
        return new Tensor(segment, dtype, Shape.of(dims), Placement.DEVICE);
    }

    Tensor device(DType dtype, long... dims) {
        return deviceAt(dtype, 0, dims);
    }

    Call only() {
        if (calls.size() != 1) {
            throw new AssertionError("expected one launch, got " + calls);
        }
        return calls.getFirst();
    }

    @Override
    public void launch(KernelSignature signature, String variant, Launch geometry, Object... args) {
        LaunchArgs.check(signature, variant, args);
        calls.add(new Call(signature.entry(variant), geometry, List.of(args)));
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        calls.add(new Call("copy", null, List.of(src, dst)));
    }

    @Override
    public MemorySegment scratch(long bytes) {
        return device(DType.I32, (bytes + 3) / 4).data().reinterpret(bytes);
    }

    @Override
    public double readDouble(MemorySegment source) {
        calls.add(new Call("readDouble", null, List.of(source)));
        return 0;
    }

    @Override
    public int sms() {
        return 132;
    }
}
