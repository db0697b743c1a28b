package dev.longbow.checkpoint;

import dev.longbow.tensor.DType;
import dev.longbow.tensor.Placement;
import dev.longbow.tensor.Shape;
import dev.longbow.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
 * mapping each name to {@code dtype}, {@code shape} and {@code data_offsets} (relative to the data
 * section) plus string metadata under {@code __metadata__}, then the raw little-endian data.
 *
 * <p>Writing goes to a temporary file in the same folder that is forced to disk and renamed over
 * the target, so a reader sees the old file or the new one, never a mix. Every tensor's CRC-32C
 * is stored in the metadata under {@value #CHECKSUMS}, and a CRC-32C of everything else the
 * header says (metadata, names, dtypes, shapes, offsets, those checksums) under
 * {@value #HEADER_CHECKSUM}: every value read back is covered. {@link #open} refuses a file that
 * is truncated, malformed or fails a checksum before anything is copied out of it.
 */
public final class SafeTensors implements AutoCloseable {
    /** Metadata key: the CRC-32C of every tensor's bytes. */
    public static final String CHECKSUMS = "longbow.crc32c";
    /** Metadata key: the CRC-32C of the header, without this entry. */
    public static final String HEADER_CHECKSUM = "longbow.header_crc32c";
    /** The suffix of a file being written; one left behind is a partial write. */
    public static final String PARTIAL_SUFFIX = ".tmp";
    private static final long MAX_HEADER = 100L << 20;

    /** One tensor's entry in the header. */
    public record Entry(String name, DType dtype, Shape shape, long begin, long end) {
    }

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafeTensors(Path path, Arena arena, MemorySegment data, Map<String, Entry> entries, Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.entries = entries;
        this.metadata = metadata;
    }

    /** Writes host tensors (in map order) and {@code metadata} to {@code target} atomically. */
    public static void write(Path target, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>(metadata);
        Map<String, String> checksums = new LinkedHashMap<>();
        Map<String, Entry> entries = new LinkedHashMap<>();
        long offset = 0;
        for (var e : tensors.entrySet()) {
            Tensor t = e.getValue();
            if (t.placement() != Placement.HOST) {
                throw new IllegalArgumentException("tensor '" + e.getKey() + "' is in device memory; copy it to the host first");
            }
            checksums.put(e.getKey(), crc(t.data()));
            header.put(e.getKey(), Map.of("dtype", dtypeName(t.dtype()), "shape", dims(t.shape()),
                    "data_offsets", List.of(offset, offset + t.byteSize())));
            entries.put(e.getKey(), new Entry(e.getKey(), t.dtype(), t.shape(), offset, offset + t.byteSize()));
            offset += t.byteSize();
        }
        meta.put(CHECKSUMS, Json.write(checksums));
        meta.put(HEADER_CHECKSUM, headerCrc(meta, entries));
        Map<String, Object> full = new LinkedHashMap<>();
        full.put("__metadata__", meta);
        full.putAll(header);
        byte[] json = Json.write(full).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8; // the data section starts 8-byte aligned; pad with spaces
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, target.getFileName() + ".", PARTIAL_SUFFIX);
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writeFully(ch, head);
                for (Tensor t : tensors.values()) {
                    writeFully(ch, t.data().asByteBuffer().order(ByteOrder.LITTLE_ENDIAN));
                }
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true); // make the rename itself durable
            } catch (IOException | UnsupportedOperationException ignored) {
                // some platforms cannot open a directory; the rename is still atomic there
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Opens and fully verifies {@code path}: header, bounds and every checksum. */
    public static SafeTensors open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment file = map(path, arena);
            Header header = header(path, file);
            verifyChecksums(path, header.data, header.entries, header.metadata);
            return new SafeTensors(path, arena, header.data, header.entries, header.metadata);
        } catch (IOException e) {
            arena.close();
            throw e;
        } catch (RuntimeException e) {
            arena.close();
            throw corrupt(path, "it is malformed (" + e + ")");
        }
    }

    /**
     * The metadata of {@code path} with its header verified (structure, bounds, header checksum)
     * but not the tensors' data: for deciding about a file without reading all of it.
     */
    public static Map<String, String> readMetadata(Path path) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            return header(path, map(path, arena)).metadata;
        }
    }

    private static MemorySegment map(Path path, Arena arena) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        }
    }

    private record Header(MemorySegment data, Map<String, Entry> entries, Map<String, String> metadata) {
    }

    /** Parses and checks the header: its length, JSON, entries, bounds and {@value #HEADER_CHECKSUM}. */
    private static Header header(Path path, MemorySegment file) throws IOException {
        try {
            long size = file.byteSize();
            if (size < 8) {
                throw corrupt(path, "it has " + size + " bytes, fewer than the 8-byte header length (truncated)");
            }
            long headerLen = file.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (headerLen < 2 || headerLen > MAX_HEADER || 8 + headerLen > size) {
                throw corrupt(path, "its header claims " + headerLen + " bytes but the file has " + size + " (truncated or not safetensors)");
            }
            String json = new String(file.asSlice(8, headerLen).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
            Map<?, ?> header;
            try {
                header = (Map<?, ?>) Json.parse(json.strip());
            } catch (IllegalArgumentException | ClassCastException e) {
                throw corrupt(path, "its header is not a JSON object: " + e.getMessage());
            }
            MemorySegment data = file.asSlice(8 + headerLen);
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, Entry> entries = new LinkedHashMap<>();
            long covered = 0;
            for (var e : header.entrySet()) {
                String name = (String) e.getKey();
                if (name.equals("__metadata__")) {
                    ((Map<?, ?>) e.getValue()).forEach((k, v) -> metadata.put((String) k, (String) v));
                    continue;
                }
                Entry entry = entry(path, name, (Map<?, ?>) e.getValue());
                if (entry.end > data.byteSize()) {
                    throw corrupt(path, "tensor '" + name + "' ends at byte " + entry.end + " of the data section but only "
                            + data.byteSize() + " bytes are there (truncated)");
                }
                covered = Math.max(covered, entry.end);
                entries.put(name, entry);
            }
            if (covered != data.byteSize()) {
                throw corrupt(path, "its data section has " + data.byteSize() + " bytes but the tensors cover " + covered);
            }
            verifyHeader(path, metadata, entries);
            return new Header(data, entries, metadata);
        } catch (CorruptCheckpointException e) {
            throw e;
        } catch (RuntimeException e) {
            throw corrupt(path, "it is malformed (" + e + ")");
        }
    }

    private static void verifyHeader(Path path, Map<String, String> metadata, Map<String, Entry> entries) throws IOException {
        String stored = metadata.get(HEADER_CHECKSUM);
        if (stored == null) {
            throw corrupt(path, "its header carries no '" + HEADER_CHECKSUM + "' (not written by this version of Longbow, or damaged)");
        }
        Map<String, String> covered = new LinkedHashMap<>(metadata);
        covered.remove(HEADER_CHECKSUM);
        String actual = headerCrc(covered, entries);
        if (!actual.equals(stored)) {
            throw corrupt(path, "its header fails its checksum (stored " + stored + ", computed " + actual
                    + "): a step, data position, run or tensor layout in it was changed");
        }
    }

    /**
     * The CRC-32C of what a header says, independent of how its JSON is laid out: every metadata
     * entry and every tensor's name, dtype, shape and offsets, in name order.
     */
    private static String headerCrc(Map<String, String> metadata, Map<String, Entry> entries) {
        StringBuilder canonical = new StringBuilder();
        new TreeMap<>(metadata).forEach((k, v) -> canonical.append(k).append('\0').append(v).append('\n'));
        new TreeMap<>(entries).forEach((name, e) -> canonical.append(name).append('\0').append(dtypeName(e.dtype))
                .append('\0').append(dims(e.shape)).append('\0').append(e.begin).append('\0').append(e.end).append('\n'));
        CRC32C crc = new CRC32C();
        crc.update(canonical.toString().getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().toHexDigits((int) crc.getValue());
    }

    private static void verifyChecksums(Path path, MemorySegment data, Map<String, Entry> entries, Map<String, String> metadata)
            throws IOException {
        String stored = metadata.get(CHECKSUMS);
        if (stored == null) {
            throw corrupt(path, "its metadata has no '" + CHECKSUMS + "' (not written by Longbow, or damaged)");
        }
        Map<?, ?> sums = (Map<?, ?>) Json.parse(stored);
        for (Entry e : entries.values()) {
            Object expected = sums.get(e.name);
            String actual = crc(data.asSlice(e.begin, e.end - e.begin));
            if (!actual.equals(expected)) {
                throw corrupt(path, "tensor '" + e.name + "' fails its checksum (stored " + expected + ", computed " + actual + ")");
            }
        }
    }

    private static Entry entry(Path path, String name, Map<?, ?> spec) throws IOException {
        try {
            DType dtype = dtype((String) spec.get("dtype"));
            List<?> shapeList = (List<?>) spec.get("shape");
            long[] dims = new long[shapeList.size()];
            for (int i = 0; i < dims.length; i++) {
                dims[i] = ((Number) shapeList.get(i)).longValue();
            }
            List<?> offsets = (List<?>) spec.get("data_offsets");
            long begin = ((Number) offsets.get(0)).longValue(), end = ((Number) offsets.get(1)).longValue();
            Shape shape = Shape.of(dims);
            if (begin < 0 || end - begin != shape.numel() * dtype.byteSize()) {
                throw corrupt(path, "tensor '" + name + "' spans bytes [" + begin + ", " + end + ") but " + dtype + shape + " needs "
                        + shape.numel() * dtype.byteSize());
            }
            return new Entry(name, dtype, shape, begin, end);
        } catch (RuntimeException e) {
            throw corrupt(path, "the header entry of tensor '" + name + "' is malformed: " + e.getMessage());
        }
    }

    /**
     * The header's {@code __metadata__}.
     *
     * @return string keys and values
     */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * The tensors in the file, by name.
     *
     * @return each tensor's dtype, shape and byte range
     */
    public Map<String, Entry> entries() {
        return entries;
    }

    /** Copies tensor {@code name} into the host tensor {@code dst}, which must have its dtype and shape. */
    public void copyTo(String name, Tensor dst) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new IllegalArgumentException(path + " has no tensor '" + name + "'");
        }
        if (e.dtype != dst.dtype() || !e.shape.equals(dst.shape())) {
            throw new IllegalArgumentException(path + ": tensor '" + name + "' is " + e.dtype + e.shape + " but the model's is "
                    + dst.dtype() + dst.shape());
        }
        MemorySegment.copy(data, e.begin, dst.data(), 0, e.end - e.begin);
    }

    @Override
    public void close() {
        arena.close();
    }

    private static String crc(MemorySegment bytes) {
        CRC32C crc = new CRC32C();
        crc.update(bytes.asByteBuffer());
        return HexFormat.of().toHexDigits((int) crc.getValue());
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    private static List<Long> dims(Shape s) {
        List<Long> d = new ArrayList<>();
        for (long x : s.toArray()) {
            d.add(x);
        }
        return d;
    }

    private static String dtypeName(DType t) {
        return switch (t) {
            case F32 -> "F32";
            case BF16 -> "BF16";
            case F16 -> "F16";
            case I32 -> "I32";
        };
    }

    private static DType dtype(String name) {
        return switch (name) {
            case "F32" -> DType.F32;
            case "BF16" -> DType.BF16;
            case "F16" -> DType.F16;
            case "I32" -> DType.I32;
            default -> throw new IllegalArgumentException("unsupported dtype " + name);
        };
    }

    private static CorruptCheckpointException corrupt(Path path, String why) {
        return new CorruptCheckpointException(path, why);
    }
}
