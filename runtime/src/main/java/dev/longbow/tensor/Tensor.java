package dev.longbow.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * A typed, row-major view over memory owned by someone else (a {@link Slab} or a backend
 * allocation). Tensors never own memory: closing the owner invalidates every view of it.
 *
 * <p>Attention tensors are sequence-major: q is {@code [S, Hq, D]}, k and v {@code [S, Hkv, D]},
 * the log-sum-exp {@code [S, Hq]} in fp32. Splitting a sequence is therefore a {@link #slice}.
 */
public record Tensor(MemorySegment data, DType dtype, Shape shape, Placement placement) {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;

    /** Refuses a segment of the wrong size, and one not aligned to the element size (a GPU faults on it). */
    public Tensor {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(placement, "placement");
        long expected = shape.numel() * dtype.byteSize();
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException("tensor " + dtype + shape + " needs " + expected
                    + " bytes but its segment has " + data.byteSize());
        }
        // A GPU faults on a scalar load from an address that is not a multiple of its size
        // (CUDA_ERROR_MISALIGNED_ADDRESS, sticky): refuse such a view before any kernel sees it.
        if (data.isNative() && data.address() % dtype.byteSize() != 0) {
            throw new IllegalArgumentException("tensor " + dtype + shape + " at address 0x" + Long.toHexString(data.address())
                    + " is not aligned to its element size of " + dtype.byteSize() + " bytes");
        }
    }

    /**
     * Elements.
     *
     * @return the product of the extents
     */
    public long numel() {
        return shape.numel();
    }

    /**
     * Bytes.
     *
     * @return the segment's size
     */
    public long byteSize() {
        return data.byteSize();
    }

    /**
     * Extent {@code i}.
     *
     * @param i the dimension, 0 outermost
     * @return its extent
     */
    public long dim(int i) {
        return shape.dim(i);
    }

    /** Rows {@code [from, to)} of the outermost dimension, sharing this tensor's memory. */
    public Tensor slice(long from, long to) {
        long rows = shape.dim(0);
        if (from < 0 || to > rows || from > to) {
            throw new IndexOutOfBoundsException("slice [" + from + ", " + to + ") of a tensor with " + rows + " rows");
        }
        long rowBytes = shape.stride(0) * dtype.byteSize();
        return new Tensor(data.asSlice(from * rowBytes, (to - from) * rowBytes), dtype, shape.with(0, to - from), placement);
    }

    /** Rows {@code [from, from + count)} of the outermost dimension. */
    public Tensor rows(long from, long count) {
        return slice(from, from + count);
    }

    /** The same memory under another shape with as many elements. */
    public Tensor view(long... dims) {
        Shape s = Shape.of(dims);
        if (s.numel() != numel()) {
            throw new IllegalArgumentException("cannot view " + shape + " (" + numel() + " elements) as " + s);
        }
        return new Tensor(data, dtype, s, placement);
    }

    /**
     * Whether {@code other} has this tensor's dtype and shape.
     *
     * @param other the other tensor
     * @return true when both match
     */
    public boolean sameLayout(Tensor other) {
        return dtype == other.dtype && shape.equals(other.shape);
    }

    /** Element {@code i} (flat index) widened to float. Host tensors only. */
    public float getFloat(long i) {
        requireHost();
        return switch (dtype) {
            case F32 -> data.getAtIndex(F32, i);
            case BF16 -> Numerics.bf16ToFloat(data.getAtIndex(I16, i));
            case F16 -> Float.float16ToFloat(data.getAtIndex(I16, i));
            case I32 -> data.getAtIndex(I32, i);
        };
    }

    /** Stores {@code value} at flat index {@code i}, rounding to nearest even. Host tensors only. */
    public void setFloat(long i, float value) {
        requireHost();
        switch (dtype) {
            case F32 -> data.setAtIndex(F32, i, value);
            case BF16 -> data.setAtIndex(I16, i, Numerics.floatToBf16(value));
            case F16 -> data.setAtIndex(I16, i, Float.floatToFloat16(value));
            case I32 -> data.setAtIndex(I32, i, (int) value);
        }
    }

    /**
     * Element {@code i} of an I32 host tensor.
     *
     * @param i the flat index
     * @return its value
     */
    public int getInt(long i) {
        requireHost();
        requireDType(DType.I32);
        return data.getAtIndex(I32, i);
    }

    /**
     * Stores {@code value} at flat index {@code i} of an I32 host tensor.
     *
     * @param i     the flat index
     * @param value the value
     */
    public void setInt(long i, int value) {
        requireHost();
        requireDType(DType.I32);
        data.setAtIndex(I32, i, value);
    }

    /**
     * Throws {@link IllegalArgumentException} unless this tensor is of dtype {@code expected}.
     *
     * @param expected the dtype it must have
     */
    public void requireDType(DType expected) {
        if (dtype != expected) {
            throw new IllegalArgumentException("expected a " + expected + " tensor, got " + dtype + shape);
        }
    }

    /**
     * Throws {@link IllegalArgumentException} unless this tensor has these extents.
     *
     * @param dims the extents it must have
     */
    public void requireShape(long... dims) {
        if (!shape.equals(Shape.of(dims))) {
            throw new IllegalArgumentException("expected shape " + Shape.of(dims) + ", got " + shape);
        }
    }

    private void requireHost() {
        if (placement != Placement.HOST) {
            throw new IllegalStateException("element access to a device tensor " + dtype + shape + "; copy it to the host first");
        }
    }

    @Override
    public String toString() {
        return "Tensor" + dtype + shape + "@" + placement;
    }
}
