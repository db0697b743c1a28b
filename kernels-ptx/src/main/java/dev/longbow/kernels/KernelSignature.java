package dev.longbow.kernels;

import java.util.List;

/**
 * A kernel entry point as its CUDA C file declares it: the Java half of the ABI. The entry's
 * name is {@code prefix + "_" + variant}, the variant naming the instantiation (dtypes such as
 * "bf16_f32", a word size "w16", a head dim "bf16_d128"); {@code variants} lists those the file
 * compiles. A test checks every signature against the {@code .entry} declarations of the
 * committed PTX, so a mismatch fails in CI rather than as garbage on a GPU.
 *
 * @param file   the source's base name: PTX resource {@code dev/longbow/kernels/<file>.<target>.ptx}
 * @param params the parameter list, in order
 */
public record KernelSignature(String file, String prefix, List<String> variants, List<Param> params) {

    /** How a parameter travels: PTX gives pointers and 64-bit integers as .u64, int as .u32. */
    public enum Param {
        PTR("u64", 8), I64("u64", 8), I32("u32", 4), F32("f32", 4);

        private final String ptxType;
        private final int bytes;

        Param(String ptxType, int bytes) {
            this.ptxType = ptxType;
            this.bytes = bytes;
        }

        public String ptxType() {
            return ptxType;
        }

        public int bytes() {
            return bytes;
        }
    }

    public KernelSignature {
        variants = List.copyOf(variants);
        params = List.copyOf(params);
    }

    public static KernelSignature of(String file, String prefix, List<String> variants, Param... params) {
        return new KernelSignature(file, prefix, variants, List.of(params));
    }

    /** The entry point of one variant; an unknown variant names the ones that exist. */
    public String entry(String variant) {
        if (!variants.contains(variant)) {
            throw new IllegalArgumentException("no kernel " + prefix + "_" + variant + " in " + file + ".cu; compiled variants: " + variants);
        }
        return prefix + "_" + variant;
    }
}
