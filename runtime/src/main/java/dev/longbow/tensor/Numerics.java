package dev.longbow.tensor;

/** Conversions between fp32 and the 16-bit storage formats. */
public final class Numerics {
    private Numerics() {
    }

    /**
     * The fp32 value of a bfloat16 (exact).
     *
     * @param bits the bfloat16's bits
     * @return its value
     */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** Round to nearest even, NaN kept quiet. */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** The value {@code x} takes after a round trip through {@code dtype}. */
    public static float roundTo(DType dtype, float x) {
        return switch (dtype) {
            case F32 -> x;
            case BF16 -> bf16ToFloat(floatToBf16(x));
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(x));
            case I32 -> (int) x;
        };
    }
}
