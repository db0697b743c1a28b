package dev.longbow.bindings;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The symbols an {@code .includes} file (regenerate's input) asks jextract to bind. */
record IncludeList(String packageName, List<Entry> entries) {

    /** One {@code --include-KIND NAME} line. */
    record Entry(String kind, String name) {
    }

    /** Reads {@code <module dir>/<packageName>.includes}; tests run in the module directory. */
    static IncludeList read(String packageName) {
        Path file = Path.of(packageName + ".includes");
        try {
            List<Entry> entries = Files.readAllLines(file).stream()
                    .map(String::strip)
                    .filter(line -> line.startsWith("--include-"))
                    .map(line -> line.substring("--include-".length()).split("\\s+"))
                    .map(parts -> new Entry(parts[0], parts[1]))
                    .toList();
            return new IncludeList(packageName, entries);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file.toAbsolutePath(), e);
        }
    }

    List<String> names(String kind) {
        return entries.stream().filter(e -> e.kind.equals(kind)).map(Entry::name).toList();
    }

    /** The generated class for a bound name, in this list's package. */
    Class<?> bindingClass(String simpleName) throws ClassNotFoundException {
        return Class.forName("dev.longbow.bindings." + packageName + "." + simpleName);
    }
}
