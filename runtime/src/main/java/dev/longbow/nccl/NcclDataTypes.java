package dev.longbow.nccl;

import static dev.longbow.bindings.nccl.nccl_h.*;

import dev.longbow.tensor.DType;

/** Longbow's element types as NCCL's ncclDataType_t. */
public final class NcclDataTypes {
    private NcclDataTypes() {
    }

    public static int of(DType dtype) {
        return switch (dtype) {
            case F32 -> ncclFloat32();
            case BF16 -> ncclBfloat16();
            case F16 -> ncclFloat16();
            case I32 -> ncclInt32();
        };
    }
}
