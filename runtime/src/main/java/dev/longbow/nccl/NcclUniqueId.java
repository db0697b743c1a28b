package dev.longbow.nccl;

import static dev.longbow.bindings.nccl.nccl_h.ncclGetUniqueId;

import dev.longbow.bindings.nccl.ncclUniqueId;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The token that lets ranks find each other: rank 0 creates it, sends its 128 bytes to every
 * other rank (over a socket, a file, a shared variable), and all pass it to
 * {@link NcclComm#initRank}.
 */
public final class NcclUniqueId {
    /** NCCL_UNIQUE_ID_BYTES. */
    public static final int BYTES = 128;

    private final byte[] bytes;

    private NcclUniqueId(byte[] bytes) {
        this.bytes = bytes;
    }

    /** A fresh id from ncclGetUniqueId (it opens NCCL's bootstrap listener on this host). */
    public static NcclUniqueId create() {
        NcclLibrary.require();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment id = ncclUniqueId.allocate(arena);
            NcclException.check("ncclGetUniqueId", ncclGetUniqueId(id), MemorySegment.NULL);
            return new NcclUniqueId(id.toArray(ValueLayout.JAVA_BYTE));
        }
    }

    /** The id another rank sent: exactly {@value #BYTES} bytes. */
    public static NcclUniqueId fromBytes(byte[] bytes) {
        if (bytes.length != BYTES) {
            throw new IllegalArgumentException("an NCCL unique id is " + BYTES + " bytes, got " + bytes.length);
        }
        return new NcclUniqueId(bytes.clone());
    }

    public byte[] toBytes() {
        return bytes.clone();
    }

    /** The id as the ncclUniqueId struct NCCL takes by value. */
    MemorySegment toStruct(SegmentAllocator allocator) {
        MemorySegment struct = ncclUniqueId.allocate(allocator);
        struct.copyFrom(MemorySegment.ofArray(bytes));
        return struct;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NcclUniqueId other && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return "NcclUniqueId[" + java.util.HexFormat.of().formatHex(bytes, 0, 8) + "...]";
    }
}
