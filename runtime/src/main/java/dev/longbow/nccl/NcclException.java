package dev.longbow.nccl;

import static dev.longbow.bindings.nccl.nccl_h.ncclGetErrorString;
import static dev.longbow.bindings.nccl.nccl_h.ncclGetLastError;

import java.lang.foreign.MemorySegment;

/** An NCCL call returned an error: the function, the ncclResult_t, its name and description, and NCCL's last message. */
public class NcclException extends RuntimeException {
    private final String function;
    private final int code;

    NcclException(String function, int code, String detail) {
        super(function + " failed: " + name(code) + " (" + description(code) + ")" + (detail.isEmpty() ? "" : "; " + detail));
        this.function = function;
        this.code = code;
    }

    /** Throws if {@code result} is not ncclSuccess, with NCCL's last error message for {@code comm} (may be NULL). */
    static void check(String function, int result, MemorySegment comm) {
        if (result != 0) {
            MemorySegment message = NcclLibrary.isLoaded() ? ncclGetLastError(comm) : MemorySegment.NULL;
            String last = message.equals(MemorySegment.NULL) ? "" : message.getString(0);
            throw new NcclException(function, result, last.isBlank() ? "" : "NCCL says: " + last.strip());
        }
    }

    /** The ncclResult_t's enumerator name, as nccl.h spells it. */
    static String name(int result) {
        return switch (result) {
            case 0 -> "ncclSuccess";
            case 1 -> "ncclUnhandledCudaError";
            case 2 -> "ncclSystemError";
            case 3 -> "ncclInternalError";
            case 4 -> "ncclInvalidArgument";
            case 5 -> "ncclInvalidUsage";
            case 6 -> "ncclRemoteError";
            case 7 -> "ncclInProgress";
            default -> "ncclResult_t " + result;
        };
    }

    static String description(int result) {
        return NcclLibrary.isLoaded() ? ncclGetErrorString(result).getString(0) : "NCCL not loaded";
    }

    public String function() {
        return function;
    }

    public int code() {
        return code;
    }
}
