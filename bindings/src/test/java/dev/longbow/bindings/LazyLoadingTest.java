package dev.longbow.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.longbow.bindings.cuda.cuda_h;
import dev.longbow.bindings.nccl.nccl_h;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bindings are generated without {@code --library}: every class must load with no native
 * library present, and a function must resolve through a library loaded later with
 * {@link System#load} (how the runtime loads libcuda and libnccl on first use).
 */
class LazyLoadingTest {

    @Test
    void everyGeneratedClassInitialisesWithoutANativeLibrary() throws IOException, URISyntaxException, ClassNotFoundException {
        Path classes = Path.of(cuda_h.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<String> names;
        try (Stream<Path> files = Files.walk(classes)) {
            names = files.map(classes::relativize).map(Path::toString)
                    .filter(f -> f.startsWith("dev/longbow/bindings/") && f.endsWith(".class"))
                    .filter(f -> !f.contains("$")) // per-function holders resolve their symbol: they load at first call
                    .map(f -> f.substring(0, f.length() - ".class".length()).replace('/', '.'))
                    .toList();
        }
        for (String name : names) {
            Class.forName(name, true, getClass().getClassLoader());
        }
        try (Stream<Path> sources = Files.walk(Path.of("src/main/java/dev/longbow/bindings"))) {
            assertEquals(sources.filter(f -> f.toString().endsWith(".java")).count(), names.size(),
                    "one top-level class per generated source file: " + names);
        }
    }

    /** A stand-in library exporting two bound symbols, built with the C compiler and loaded after the bindings. */
    @Test
    void functionsResolveThroughALibraryLoadedLater(@TempDir Path dir) throws Exception {
        assumeTrue(CProbe.compiler() != null, "no C compiler on PATH");
        Path source = dir.resolve("fake.c");
        Files.writeString(source, """
                int cuDriverGetVersion(int *version) { *version = 424242; return 0; }
                int ncclGetVersion(int *version) { *version = 23456; return 0; }
                """);
        Path library = dir.resolve("libfake.so");
        Process cc = new ProcessBuilder(CProbe.compiler(), "-shared", "-fPIC", "-o", library.toString(), source.toString())
                .inheritIO().start();
        assertEquals(0, cc.waitFor());

        Class.forName(cuda_h.class.getName(), true, getClass().getClassLoader()); // its lookup exists before the load
        System.load(library.toString());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment version = arena.allocate(cuda_h.C_INT);
            assertEquals(0, cuda_h.cuDriverGetVersion(version));
            assertEquals(424242, version.get(cuda_h.C_INT, 0));
            assertEquals(0, nccl_h.ncclGetVersion(version));
            assertEquals(23456, version.get(cuda_h.C_INT, 0));
        }
    }
}
