package dev.longbow.cuda;

/** A native library (CUDA driver, NCCL) is missing or cannot be loaded; the message says where it was looked for. */
public class NativeLibraryException extends IllegalStateException {
    public NativeLibraryException(String message) {
        super(message);
    }

    public NativeLibraryException(String message, Throwable cause) {
        super(message, cause);
    }
}
