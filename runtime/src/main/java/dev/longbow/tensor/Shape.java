package dev.longbow.tensor;

import java.util.Arrays;

/** The extents of a row-major tensor, outermost first. Immutable. */
public final class Shape {
    private final long[] dims;

    private Shape(long[] dims) {
        for (long d : dims) {
            if (d < 0) {
                throw new IllegalArgumentException("negative extent " + d + " in shape " + Arrays.toString(dims));
            }
        }
        this.dims = dims;
    }

    /**
     * A shape of these extents.
     *
     * @param dims the extents, outermost first, each at least 0
     * @return the shape
     */
    public static Shape of(long... dims) {
        return new Shape(dims.clone());
    }

    /**
     * The number of dimensions.
     *
     * @return the rank
     */
    public int rank() {
        return dims.length;
    }

    /**
     * Extent {@code i}.
     *
     * @param i the dimension, 0 outermost
     * @return its extent
     */
    public long dim(int i) {
        return dims[i < 0 ? dims.length + i : i];
    }

    /**
     * Elements in a tensor of this shape.
     *
     * @return the product of the extents
     */
    public long numel() {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Elements spanned by one step along dimension {@code i}. */
    public long stride(int i) {
        long s = 1;
        for (int j = dims.length - 1; j > i; j--) {
            s *= dims[j];
        }
        return s;
    }

    /** This shape with dimension {@code i} replaced by {@code extent}. */
    public Shape with(int i, long extent) {
        long[] d = dims.clone();
        d[i] = extent;
        return new Shape(d);
    }

    /**
     * The extents.
     *
     * @return a copy, outermost first
     */
    public long[] toArray() {
        return dims.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
