package dev.longbow.hf;

import dev.longbow.checkpoint.Json;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A safetensors file as any tool writes it (no Longbow checksums expected): the header checked
 * for structure and bounds, the data mapped, each tensor read as fp32 from F32, BF16 or F16.
 */
final class SafeTensorsFile implements AutoCloseable {
    private static final long MAX_HEADER = 100L << 20;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** One tensor: dtype name as the file says it, shape, and byte range in the data section. */
    record Entry(String dtype, long[] shape, long begin, long end) {
        long numel() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, Entry> entries;

    private SafeTensorsFile(Path path, Arena arena, MemorySegment data, Map<String, Entry> entries) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.entries = entries;
    }

    static SafeTensorsFile open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment file = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            long size = file.byteSize();
            long headerLen = size < 8 ? -1 : file.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (headerLen < 2 || headerLen > MAX_HEADER || 8 + headerLen > size) {
                throw bad(path, "its header length " + headerLen + " does not fit its " + size + " bytes (truncated, or not safetensors)");
            }
            Map<?, ?> header;
            try {
                header = (Map<?, ?>) Json.parse(new String(file.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE),
                        StandardCharsets.UTF_8).strip());
            } catch (IllegalArgumentException | ClassCastException e) {
                throw bad(path, "its header is not a JSON object: " + e.getMessage());
            }
            MemorySegment data = file.asSlice(8 + headerLen);
            Map<String, Entry> entries = new LinkedHashMap<>();
            for (var e : header.entrySet()) {
                if (!e.getKey().equals("__metadata__")) {
                    entries.put((String) e.getKey(), entry(path, (String) e.getKey(), e.getValue(), data.byteSize()));
                }
            }
            return new SafeTensorsFile(path, arena, data, entries);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static Entry entry(Path path, String name, Object spec, long dataBytes) {
        try {
            Map<?, ?> m = (Map<?, ?>) spec;
            String dtype = (String) m.get("dtype");
            List<?> dims = (List<?>) m.get("shape");
            long[] shape = new long[dims.size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = ((Number) dims.get(i)).longValue();
            }
            List<?> offsets = (List<?>) m.get("data_offsets");
            Entry e = new Entry(dtype, shape, ((Number) offsets.get(0)).longValue(), ((Number) offsets.get(1)).longValue());
            int width = switch (dtype) {
                case "F32" -> 4;
                case "BF16", "F16" -> 2;
                default -> 0;   // refused when read: the tensor may be one Longbow does not need
            };
            if (e.begin < 0 || e.end > dataBytes || (width > 0 && e.end - e.begin != e.numel() * width)) {
                throw bad(path, "tensor '" + name + "' spans bytes [" + e.begin + ", " + e.end + ") of a " + dataBytes
                        + "-byte data section, which does not hold " + dtype + " " + dims + " (truncated or damaged)");
            }
            return e;
        } catch (ClassCastException | NullPointerException | IndexOutOfBoundsException e) {
            throw bad(path, "the header entry of tensor '" + name + "' is malformed");
        }
    }

    Path path() {
        return path;
    }

    Map<String, Entry> entries() {
        return entries;
    }

    /** Writes tensor {@code name} as fp32 into {@code dst} from element 0. */
    void readFloats(String name, MemorySegment dst) {
        Entry e = entries.get(name);
        long n = e.numel();
        switch (e.dtype) {
            case "F32" -> MemorySegment.copy(data, F32, e.begin, dst, ValueLayout.JAVA_FLOAT, 0, n);
            case "BF16" -> {
                for (long i = 0; i < n; i++) {
                    dst.setAtIndex(ValueLayout.JAVA_FLOAT, i, Float.intBitsToFloat((data.get(U16, e.begin + 2 * i) & 0xFFFF) << 16));
                }
            }
            case "F16" -> {
                for (long i = 0; i < n; i++) {
                    dst.setAtIndex(ValueLayout.JAVA_FLOAT, i, Float.float16ToFloat(data.get(U16, e.begin + 2 * i)));
                }
            }
            default -> throw new IllegalArgumentException(path + ": tensor '" + name + "' is " + e.dtype
                    + "; Longbow loads F32, BF16 and F16 weights (convert the model with torch_dtype=float32 or bfloat16)");
        }
    }

    private static IllegalArgumentException bad(Path path, String why) {
        return new IllegalArgumentException("cannot read " + path + ": " + why);
    }

    @Override
    public void close() {
        arena.close();
    }
}
