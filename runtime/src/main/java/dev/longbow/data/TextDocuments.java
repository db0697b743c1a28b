package dev.longbow.data;

import dev.longbow.checkpoint.Json;

import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The documents of a text corpus: one text file, the text files under a folder, or the text
 * entries of a .zip (the JDK's {@code lib/src.zip} by default), in name order. A file larger
 * than {@link #PART_BYTES} is read as consecutive parts of about that size (cut between UTF-8
 * characters), so files of any size, beyond the 2 GiB of a Java array too, are streamed. A
 * document that is not valid UTF-8 or holds a NUL byte is skipped as binary when read; a single
 * file whose beginning is not text, and data with no bytes at all, are refused when opened.
 *
 * <p>A {@code .jsonl} file holds one document per line, the string under a field of each JSON
 * object ({@code "text"} by default); it is read in parts of about {@link #JSONL_PART_BYTES} cut
 * between lines, and only the field's text is trained on, never the JSON around it. With a
 * {@link HeldOutSplit}, only the documents of its side are read.
 */
public final class TextDocuments implements AutoCloseable {
    /** Extensions read from folders and archives: source code and prose. */
    private static final Set<String> TEXT = Set.of("java", "txt", "md", "rst", "adoc", "html", "htm", "xml", "json",
            "c", "h", "cc", "cpp", "hpp", "cu", "py", "js", "ts", "go", "rs", "kt", "scala", "sh", "properties", "css",
            "tex", "csv", "yaml", "yml", "toml", "sql", "rb", "swift", "m", "cs");

    /** Files above this size are read in parts of about this size. */
    static final long PART_BYTES = 16L << 20;
    /** JSONL files are read in parts of about this size: the unit the corpus shuffles. */
    static final long JSONL_PART_BYTES = 1L << 20;
    /** The JSON field a JSONL line's text is under, unless told otherwise. */
    public static final String DEFAULT_FIELD = "text";
    /** How much of a single file is checked for text when it is opened. */
    private static final int CHECKED_BYTES = 1 << 20;

    /**
     * One document: the file or entry it comes from, where in it it starts, and its size in bytes
     * (known before reading).
     */
    public record Document(String name, long offset, long bytes) {
        /** The file's name, with the byte range when it is a part of a larger file. */
        @Override
        public String toString() {
            return offset == 0 && bytes < PART_BYTES ? name : name + " [bytes " + offset + ".." + (offset + bytes) + ")";
        }
    }

    private final String description;
    private final List<Document> documents;
    private final ZipFile zip;
    private final Path root;
    private String field = DEFAULT_FIELD;
    private HeldOutSplit split;

    private TextDocuments(String description, List<Document> documents, ZipFile zip, Path root) {
        this.description = description;
        this.documents = documents;
        this.zip = zip;
        this.root = root;
    }

    /**
     * Opens {@code path} reading the JSONL field {@code field} and only the documents of
     * {@code split}'s side (null: all of them).
     */
    public static TextDocuments open(Path path, String field, HeldOutSplit split) throws IOException {
        if (field == null || field.isEmpty()) {
            throw new IllegalArgumentException("the JSONL text field must be a non-empty name (e.g. --text-field text)");
        }
        TextDocuments docs = open(path);
        docs.field = field;
        docs.split = split;
        try {
            docs.requireJsonlField();
        } catch (RuntimeException e) {
            docs.close();
            throw e;
        }
        return docs;
    }

    /** The running JDK's {@code lib/src.zip}, or a message saying what to do when this JDK lacks it. */
    public static Path jdkSources() {
        Path home = Path.of(System.getProperty("java.home"));
        Path src = home.resolve("lib").resolve("src.zip");
        if (!Files.isRegularFile(src)) {
            throw new IllegalArgumentException("this JDK (" + home + ") has no lib/src.zip, the default training text. Either "
                    + "install its sources (Debian/Ubuntu: apt install openjdk-<N>-source; Fedora/RHEL: dnf install "
                    + "java-<N>-openjdk-src; Temurin, Zulu and Oracle JDKs ship src.zip), run with a JDK that has it, or "
                    + "pass --data PATH with any text file, folder of text files or .zip of them, or --data passkey (synthetic, needs no files)");
        }
        return src;
    }

    /**
     * All documents under {@code path}, JSONL text in its "text" field.
     *
     * @param path the file, folder or zip
     * @return the documents
     * @throws IOException when they cannot be read
     */
    public static TextDocuments open(Path path) throws IOException {
        if (!Files.exists(path)) {
            throw new IllegalArgumentException("no such file or folder: " + path);
        }
        if (Files.isDirectory(path)) {
            List<Document> docs = new ArrayList<>();
            try (Stream<Path> files = Files.walk(path)) {
                for (Path p : files.filter(Files::isRegularFile).filter(p -> isText(p.toString()) || isJsonl(p.toString())).sorted().toList()) {
                    docs.addAll(parts(path.relativize(p).toString(), p));
                }
            }
            return checked(new TextDocuments("folder " + path, docs, null, path), path);
        }
        if (path.toString().endsWith(".zip") || path.toString().endsWith(".jar")) {
            ZipFile zip = new ZipFile(path.toFile());
            List<Document> docs = zip.stream().filter(e -> !e.isDirectory() && (isText(e.getName()) || isJsonl(e.getName())))
                    .map(e -> new Document(e.getName(), 0, e.getSize())).sorted(Comparator.comparing(Document::name)).toList();
            for (Document d : docs) {
                if (d.bytes() > Integer.MAX_VALUE - 8) {
                    zip.close();
                    throw new IllegalArgumentException("entry " + d.name() + " of archive " + path + " has " + d.bytes()
                            + " bytes, more than the 2 GiB one archive entry can hold here; unzip it and pass the file or folder");
                }
            }
            return checked(new TextDocuments("archive " + path, docs, zip, null), path);
        }
        requireText(path);
        return checked(new TextDocuments("file " + path, parts(path.getFileName().toString(), path), null,
                path.toAbsolutePath().getParent()), path);
    }

    /** A single file must be text from its first bytes on: binary or legacy-encoded data is refused, saying where. */
    private static void requireText(Path path) throws IOException {
        byte[] head = new byte[(int) Math.min(CHECKED_BYTES, Files.size(path))];
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            readFully(ch, ByteBuffer.wrap(head), 0);
        }
        String problem = TextCheck.problem(head, head.length, head.length == Files.size(path));
        if (problem == null) {
            return;
        }
        String fix = problem.contains("NUL") ? "pass a text file, a folder of text files or a .zip of them"
                : "convert it to UTF-8, e.g. iconv -f latin1 -t utf-8 " + path + " > " + path.getFileName() + ".utf8.txt";
        throw new IllegalArgumentException("file " + path + " is not UTF-8 text: " + problem + "; " + fix);
    }

    /**
     * A file as documents: itself, or parts of about {@link #PART_BYTES} cut between UTF-8
     * characters; a JSONL file in parts of about {@link #JSONL_PART_BYTES} cut after a newline.
     */
    private static List<Document> parts(String name, Path file) throws IOException {
        long size = Files.size(file);
        List<Document> parts = new ArrayList<>();
        if (isJsonl(name)) {
            return jsonlParts(name, file, size);
        }
        if (size <= PART_BYTES) {
            parts.add(new Document(name, 0, size));
            return parts;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long start = 0;
            while (start < size) {
                long end = Math.min(size, start + PART_BYTES);
                ByteBuffer next = ByteBuffer.allocate(4);
                while (end < size && end < start + PART_BYTES + 4) {   // a UTF-8 character spans at most 4 bytes
                    next.clear();
                    if (ch.read(next, end) < 1 || (next.get(0) & 0xC0) != 0x80) {
                        break;
                    }
                    end++;
                }
                parts.add(new Document(name, start, end - start));
                start = end;
            }
        }
        return parts;
    }

    private static List<Document> jsonlParts(String name, Path file, long size) throws IOException {
        List<Document> parts = new ArrayList<>();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocate(1 << 16);
            long start = 0;
            while (start < size) {
                long end = Math.min(size, start + JSONL_PART_BYTES);
                scan:
                while (end < size) {   // move the cut just past the next newline
                    buf.clear();
                    int n = ch.read(buf, end);
                    if (n < 1) {
                        break;
                    }
                    for (int i = 0; i < n; i++) {
                        if (buf.get(i) == '\n') {
                            end += i + 1;
                            break scan;
                        }
                    }
                    end += n;
                }
                if (end - start > Integer.MAX_VALUE - 8) {
                    throw new IllegalArgumentException(name + " has a line of more than 2 GiB at byte " + start
                            + "; a JSONL document must fit in 2 GiB");
                }
                parts.add(new Document(name, start, end - start));
                start = end;
            }
        }
        return parts;
    }

    /** The first JSONL line of the corpus is a JSON object with the text field: checked when opened, not mid-run. */
    private void requireJsonlField() {
        for (Document d : documents) {
            if (isJsonl(d.name()) && d.bytes() > 0) {
                byte[] bytes = bytes(d);
                int end = 0;
                while (end < bytes.length && bytes[end] != '\n') {
                    end++;
                }
                textOf(d, d.offset(), new String(bytes, 0, end, StandardCharsets.UTF_8));
                return;
            }
        }
    }

    private static TextDocuments checked(TextDocuments docs, Path path) {
        if (docs.documents.isEmpty()) {
            docs.close();
            throw new IllegalArgumentException(path + " holds no text files (extensions read: " + TEXT.stream().sorted().toList() + ")");
        }
        if (docs.documents.stream().mapToLong(Document::bytes).sum() == 0) {
            docs.close();
            throw new IllegalArgumentException(docs.description + " is empty (0 bytes of text): there is nothing to train on; "
                    + "pass a text file, folder or .zip with content");
        }
        return docs;
    }

    private static boolean isJsonl(String name) {
        return name.toLowerCase(Locale.ROOT).endsWith(".jsonl");
    }

    private static boolean isText(String name) {
        int dot = name.lastIndexOf('.');
        return dot >= 0 && TEXT.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    /**
     * Every document, in a fixed order.
     *
     * @return the documents
     */
    public List<Document> documents() {
        return documents;
    }

    /**
     * What was opened, for logs.
     *
     * @return the path and the count of documents
     */
    public String description() {
        return split == null ? description : description + ", " + split;
    }

    /** The document's text, or null when it is binary (not UTF-8, or holds a NUL). */
    public String read(Document d) {
        byte[] bytes = bytes(d);
        if (TextCheck.problem(bytes, bytes.length, true) != null) {
            return null;
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /**
     * The texts to train on in {@code d} that lie on this corpus's side of the split: the
     * document's text (none when binary), or the text field of each JSONL line.
     */
    public List<String> texts(Document d) {
        if (!isJsonl(d.name())) {
            String text = split == null || split.keeps(d.name(), d.offset()) ? read(d) : null;
            return text == null ? List.of() : List.of(text);
        }
        byte[] bytes = bytes(d);
        List<String> texts = new ArrayList<>();
        int start = 0;
        for (int i = 0; i <= bytes.length; i++) {
            if (i == bytes.length || bytes[i] == '\n') {
                long offset = d.offset() + start;
                if (i > start && (split == null || split.keeps(d.name(), offset))) {
                    String line = new String(bytes, start, i - start, StandardCharsets.UTF_8);
                    if (!line.isBlank()) {
                        texts.add(textOf(d, offset, line));
                    }
                }
                start = i + 1;
            }
        }
        return texts;
    }

    /** The text field of one JSONL line, or a message naming the file, the byte offset, what was found and the fix. */
    private String textOf(Document d, long offset, String line) {
        Object value;
        try {
            value = Json.parse(line.strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(d.name() + " of " + description + ", line at byte " + offset + " is not JSON ("
                    + e.getMessage() + "); a .jsonl file holds one JSON object per line");
        }
        if (!(value instanceof Map<?, ?> m) || !(m.get(field) instanceof String text)) {
            String keys = value instanceof Map<?, ?> m ? " (its fields: " + m.keySet() + ")" : "";
            throw new IllegalArgumentException(d.name() + " of " + description + ", line at byte " + offset + " has no string field \""
                    + field + "\"" + keys + "; name the field with --text-field");
        }
        return text;
    }

    private byte[] bytes(Document d) {
        try {
            if (zip != null) {
                ZipEntry e = zip.getEntry(d.name());
                try (var in = zip.getInputStream(e)) {
                    return in.readAllBytes();
                }
            }
            byte[] bytes = new byte[Math.toIntExact(d.bytes())];
            try (FileChannel ch = FileChannel.open(root.resolve(d.name()), StandardOpenOption.READ)) {
                readFully(ch, ByteBuffer.wrap(bytes), d.offset());
            }
            return bytes;
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + d + " of " + description, e);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer into, long position) throws IOException {
        while (into.hasRemaining()) {
            int n = ch.read(into, position + into.position());
            if (n < 0) {
                throw new EOFException("the file ended " + into.remaining() + " bytes early (it shrank while being read)");
            }
        }
    }

    @Override
    public void close() {
        if (zip != null) {
            try {
                zip.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
