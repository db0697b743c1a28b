package dev.longbow.nccl;

import dev.longbow.bindings.nccl.nccl_h.ncclGroupEnd;
import dev.longbow.bindings.nccl.nccl_h.ncclGroupStart;
import java.lang.foreign.MemorySegment;

/**
 * NCCL calls issued between {@link Nccl#group()} and {@link #close()} are launched together:
 * matching sends and receives, or one thread driving several communicators, cannot deadlock.
 */
public final class NcclGroup implements AutoCloseable {
    private boolean closed;

    NcclGroup() {
        NcclException.check("ncclGroupStart", Invokers.START.apply(), MemorySegment.NULL);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            NcclException.check("ncclGroupEnd", Invokers.END.apply(), MemorySegment.NULL);
        }
    }

    /**
     * nccl.h declares {@code ncclGroupStart()} with an empty parameter list, which C reads as
     * "unspecified", so jextract binds it as variadic: an invoker with no extra arguments is the
     * plain call. Made once, after the library is loaded.
     */
    private static final class Invokers {
        static final ncclGroupStart START = ncclGroupStart.makeInvoker();
        static final ncclGroupEnd END = ncclGroupEnd.makeInvoker();
    }
}
