package dev.longbow.tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongFunction;

/**
 * One allocation carved into named tensors, llm.c style: the memory a piece of work needs is
 * declared up front, allocated once, and its size is the work's peak buffer memory.
 */
public final class Slab implements AutoCloseable {
    /** Views start on this boundary: wide enough for vector loads and the GPU's 128-byte lines. */
    public static final long ALIGNMENT = 256;

    private final Allocation allocation;
    private final Map<String, Tensor> views;

    private Slab(Allocation allocation, Map<String, Tensor> views) {
        this.allocation = allocation;
        this.views = views;
    }

    /**
     * A builder to declare the slab's tensors in.
     *
     * @return an empty builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The tensor declared as {@code name}.
     *
     * @param name its name
     * @return the view
     * @throws IllegalArgumentException for a name not declared, listing those that were
     */
    public Tensor get(String name) {
        Tensor t = views.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no tensor '" + name + "' in slab; it has " + views.keySet());
        }
        return t;
    }

    /**
     * The slab's bytes: its peak buffer memory.
     *
     * @return the allocation's size
     */
    public long byteSize() {
        return allocation.segment().byteSize();
    }

    @Override
    public void close() {
        allocation.close();
    }

    /** Declares the named tensors; {@link #allocate} lays them out and makes one allocation. */
    public static final class Builder {
        private final Map<String, DType> dtypes = new LinkedHashMap<>();
        private final Map<String, Shape> shapes = new LinkedHashMap<>();

        private Builder() {
        }

        /**
         * Declares a tensor.
         *
         * @param name  its name, unique in the slab
         * @param dtype its element type
         * @param dims  its extents
         * @return this builder
         */
        public Builder add(String name, DType dtype, long... dims) {
            if (dtypes.putIfAbsent(name, dtype) != null) {
                throw new IllegalArgumentException("tensor '" + name + "' declared twice");
            }
            shapes.put(name, Shape.of(dims));
            return this;
        }

        /**
         * The bytes the declared tensors take, each aligned.
         *
         * @return the size {@link #allocate} asks for
         */
        public long byteSize() {
            long offset = 0;
            for (var e : dtypes.entrySet()) {
                offset = align(offset) + shapes.get(e.getKey()).numel() * e.getValue().byteSize();
            }
            return align(offset);
        }

        /**
         * Where each declared tensor will start, in bytes from the slab's start, as {@link #allocate} lays them out.
         *
         * @return byte offsets by name, in declaration order
         */
        public Map<String, Long> offsets() {
            Map<String, Long> offsets = new LinkedHashMap<>();
            long offset = 0;
            for (var e : dtypes.entrySet()) {
                offset = align(offset);
                offsets.put(e.getKey(), offset);
                offset += shapes.get(e.getKey()).numel() * e.getValue().byteSize();
            }
            return offsets;
        }

        /** @param allocator makes the single block, typically {@code backend::allocate} */
        public Slab allocate(LongFunction<Allocation> allocator) {
            Allocation block = allocator.apply(Math.max(byteSize(), ALIGNMENT));
            Map<String, Tensor> views = new LinkedHashMap<>();
            for (var e : offsets().entrySet()) {
                Shape shape = shapes.get(e.getKey());
                long bytes = shape.numel() * dtypes.get(e.getKey()).byteSize();
                views.put(e.getKey(), new Tensor(block.segment().asSlice(e.getValue(), bytes), dtypes.get(e.getKey()), shape,
                        block.placement()));
            }
            return new Slab(block, views);
        }

        private static long align(long offset) {
            return (offset + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
        }
    }
}
