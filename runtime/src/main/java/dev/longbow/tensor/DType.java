package dev.longbow.tensor;

/** Element types of tensors. Compute is fp32; bf16 and fp16 are storage formats. */
public enum DType {
    /** IEEE fp32. */
    F32(4),
    /** bfloat16: fp32's exponent, 8 bits of mantissa. */
    BF16(2),
    /** IEEE fp16. */
    F16(2),
    /** 32-bit integers: token ids, targets, positions. */
    I32(4);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /**
     * Bytes per element.
     *
     * @return 2 or 4
     */
    public int byteSize() {
        return byteSize;
    }

    /**
     * Whether elements are floating point.
     *
     * @return false for I32 only
     */
    public boolean isFloatingPoint() {
        return this != I32;
    }
}
