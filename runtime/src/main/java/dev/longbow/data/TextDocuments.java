package dev.longbow.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The documents of a text corpus: one text file, the text files under a folder, or the text
 * entries of a .zip (the JDK's {@code lib/src.zip} by default), in name order. A file that is not
 * valid UTF-8 or holds a NUL byte is skipped as binary when read.
 */
public final class TextDocuments implements AutoCloseable {
    /** Extensions read from folders and archives: source code and prose. */
    private static final Set<String> TEXT = Set.of("java", "txt", "md", "rst", "adoc", "html", "htm", "xml", "json",
            "c", "h", "cc", "cpp", "hpp", "cu", "py", "js", "ts", "go", "rs", "kt", "scala", "sh", "properties", "css",
            "tex", "csv", "yaml", "yml", "toml", "sql", "rb", "swift", "m", "cs");

    /** One document: its name and size in bytes (known before reading). */
    public record Document(String name, long bytes) {
    }

    private final String description;
    private final List<Document> documents;
    private final ZipFile zip;
    private final Path root;

    private TextDocuments(String description, List<Document> documents, ZipFile zip, Path root) {
        this.description = description;
        this.documents = documents;
        this.zip = zip;
        this.root = root;
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

    public static TextDocuments open(Path path) throws IOException {
        if (!Files.exists(path)) {
            throw new IllegalArgumentException("no such file or folder: " + path);
        }
        if (Files.isDirectory(path)) {
            List<Document> docs = new ArrayList<>();
            try (Stream<Path> files = Files.walk(path)) {
                for (Path p : files.filter(Files::isRegularFile).filter(p -> isText(p.toString())).sorted().toList()) {
                    docs.add(new Document(path.relativize(p).toString(), Files.size(p)));
                }
            }
            return checked(new TextDocuments("folder " + path, docs, null, path), path);
        }
        if (path.toString().endsWith(".zip") || path.toString().endsWith(".jar")) {
            ZipFile zip = new ZipFile(path.toFile());
            List<Document> docs = zip.stream().filter(e -> !e.isDirectory() && isText(e.getName()))
                    .map(e -> new Document(e.getName(), e.getSize())).sorted(Comparator.comparing(Document::name)).toList();
            return checked(new TextDocuments("archive " + path, docs, zip, null), path);
        }
        return new TextDocuments("file " + path, List.of(new Document(path.getFileName().toString(), Files.size(path))), null,
                path.toAbsolutePath().getParent());
    }

    private static TextDocuments checked(TextDocuments docs, Path path) {
        if (docs.documents.isEmpty()) {
            docs.close();
            throw new IllegalArgumentException(path + " holds no text files (extensions read: " + TEXT.stream().sorted().toList() + ")");
        }
        return docs;
    }

    private static boolean isText(String name) {
        int dot = name.lastIndexOf('.');
        return dot >= 0 && TEXT.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    public List<Document> documents() {
        return documents;
    }

    public String description() {
        return description;
    }

    /** The document's text, or null when it is binary (not UTF-8, or holds a NUL). */
    public String read(Document d) {
        try {
            byte[] bytes;
            if (zip != null) {
                ZipEntry e = zip.getEntry(d.name());
                try (var in = zip.getInputStream(e)) {
                    bytes = in.readAllBytes();
                }
            } else {
                bytes = Files.readAllBytes(root.resolve(d.name()));
            }
            for (byte b : bytes) {
                if (b == 0) {
                    return null;
                }
            }
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + d.name() + " of " + description, e);
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
