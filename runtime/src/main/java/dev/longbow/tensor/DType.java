package dev.longbow.tensor;

/** Element types of tensors. Compute is fp32; bf16 and fp16 are storage formats. */
public enum DType {
    F32(4),
    BF16(2),
    F16(2),
    I32(4);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    public int byteSize() {
        return byteSize;
    }

    public boolean isFloatingPoint() {
        return this != I32;
    }
}
