package dev.longbow.nccl;

/** Reductions NCCL applies elementwise (ncclRedOp_t). */
public enum NcclOp {
    SUM(0),
    PROD(1),
    MAX(2),
    MIN(3),
    AVG(4);

    private final int code;

    NcclOp(int code) {
        this.code = code;
    }

    /** The ncclRedOp_t value. */
    public int code() {
        return code;
    }
}
