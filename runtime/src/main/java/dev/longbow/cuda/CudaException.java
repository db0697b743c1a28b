package dev.longbow.cuda;

import static dev.longbow.bindings.cuda.cuda_h.C_POINTER;
import static dev.longbow.bindings.cuda.cuda_h.cuGetErrorName;
import static dev.longbow.bindings.cuda.cuda_h.cuGetErrorString;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** A CUDA driver call returned an error: the function, the CUresult, its name and description. */
public class CudaException extends RuntimeException {
    /** CUDA_ERROR_INVALID_CONTEXT: the calling thread has no (or a destroyed) current context. */
    static final int INVALID_CONTEXT = 201;

    private final String function;
    private final int code;
    private final String errorName;
    private final String errorString;

    public CudaException(String function, int code, String errorName, String errorString, String detail) {
        super(function + " failed: " + errorName + " (" + errorString + ")" + (detail.isEmpty() ? "" : "; " + detail));
        this.function = function;
        this.code = code;
        this.errorName = errorName;
        this.errorString = errorString;
    }

    /** Throws if {@code result} is not CUDA_SUCCESS. */
    static void check(String function, int result) {
        if (result != 0) {
            throw of(function, result, "");
        }
    }

    static CudaException of(String function, int result, String detail) {
        String hint = result == INVALID_CONTEXT
                ? "no current context on this thread: call Context.makeCurrent() on the thread that runs this rank"
                : "";
        String all = detail.isEmpty() ? hint : hint.isEmpty() ? detail : detail + "; " + hint;
        return new CudaException(function, result, name(result), description(result), all);
    }

    /** The CUresult's name from the driver ("CUDA_ERROR_OUT_OF_MEMORY"), or "CUresult N" without a driver. */
    static String name(int result) {
        return ask(result, true);
    }

    static String description(int result) {
        return ask(result, false);
    }

    private static String ask(int result, boolean name) {
        if (!CudaDriver.isLoaded()) {
            return "CUresult " + result;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment text = arena.allocate(C_POINTER);
            int status = name ? cuGetErrorName(result, text) : cuGetErrorString(result, text);
            MemorySegment chars = text.get(C_POINTER, 0);
            if (status != 0 || chars.equals(MemorySegment.NULL)) {
                return "unknown CUresult " + result;
            }
            return chars.getString(0);
        }
    }

    public String function() {
        return function;
    }

    public int code() {
        return code;
    }

    public String errorName() {
        return errorName;
    }

    public String errorString() {
        return errorString;
    }
}
