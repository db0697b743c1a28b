package dev.longbow.kernels;

import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/** Checks a launch's arguments against its kernel's signature, before anything reaches the driver. */
final class LaunchArgs {
    private LaunchArgs() {
    }

    static void check(KernelSignature signature, String variant, Object... args) {
        String entry = signature.entry(variant);
        if (args.length != signature.params().size()) {
            throw new IllegalArgumentException(entry + " takes " + signature.params().size() + " arguments " + signature.params()
                    + ", got " + args.length);
        }
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            boolean ok = switch (signature.params().get(i)) {
                case PTR -> a instanceof MemorySegment || a instanceof Tensor t && t.placement() == Placement.DEVICE;
                case I64 -> a instanceof Long;
                case I32 -> a instanceof Integer;
                case F32 -> a instanceof Float;
            };
            if (!ok) {
                throw new IllegalArgumentException(entry + " argument " + i + " must be " + signature.params().get(i)
                        + (signature.params().get(i) == KernelSignature.Param.PTR ? " (a DEVICE tensor or device segment)" : "")
                        + ", got " + a + (a == null ? "" : " (" + a.getClass().getSimpleName() + ")"));
            }
        }
    }

    /** The device address a pointer argument carries. */
    static long address(Object pointer) {
        return pointer instanceof Tensor t ? t.data().address() : ((MemorySegment) pointer).address();
    }
}
