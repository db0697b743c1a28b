package dev.longbow.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where the CUDA driver and NCCL are looked for, and what a machine without them is told. */
class NativeLibraryTest {
    private static final Function<String, Optional<Path>> LINKER_HAS_NOTHING = name -> Optional.empty();
    private static final Function<String, String> NO_PROPERTIES = key -> null;

    @TempDir
    Path dir;

    private NativeLibrary driver(Path... extraDirs) {
        return new NativeLibrary("CUDA driver", "libcuda.so.1", "longbow.cuda.library", "LONGBOW_CUDA_LIBRARY",
                List.of(extraDirs), List.of("/stubs/"));
    }

    @Test
    void absentLibrarySaysWhereItLooked() {
        Path nowhere = dir.resolve("nvidia/lib64");
        var e = assertThrows(NativeLibraryException.class,
                () -> driver(nowhere).locate(NO_PROPERTIES, Map.of(), LINKER_HAS_NOTHING));
        System.out.println(e.getMessage());
        assertTrue(e.getMessage().startsWith("CUDA driver not found (looked in "), e.getMessage());
        assertTrue(e.getMessage().contains(nowhere.resolve("libcuda.so.1").toString()), e.getMessage());
        assertTrue(e.getMessage().contains("dynamic linker"), e.getMessage());
        assertTrue(e.getMessage().contains("longbow.cuda.library") && e.getMessage().contains("LONGBOW_CUDA_LIBRARY"), e.getMessage());
    }

    @Test
    void propertyWinsOverEnvironmentAndSearch() throws IOException {
        Path named = Files.createFile(dir.resolve("libcuda.so.1"));
        Path other = Files.createFile(dir.resolve("other.so"));
        Path found = driver(dir).locate(Map.of("longbow.cuda.library", named.toString())::get,
                Map.of("LONGBOW_CUDA_LIBRARY", other.toString()), LINKER_HAS_NOTHING);
        assertEquals(named, found);
    }

    @Test
    void environmentIsUsedWhenThePropertyIsUnset() throws IOException {
        Path named = Files.createFile(dir.resolve("libcuda-from-env.so.1"));
        assertEquals(named, driver().locate(NO_PROPERTIES, Map.of("LONGBOW_CUDA_LIBRARY", named.toString()), LINKER_HAS_NOTHING));
    }

    @Test
    void aNamedFileThatIsMissingIsAnErrorNotAFallback() throws IOException {
        Files.createFile(dir.resolve("libcuda.so.1"));
        Path missing = dir.resolve("typo/libcuda.so.1");
        var e = assertThrows(NativeLibraryException.class, () -> driver(dir).locate(NO_PROPERTIES,
                Map.of("LONGBOW_CUDA_LIBRARY", missing.toString()), LINKER_HAS_NOTHING));
        assertTrue(e.getMessage().contains("environment variable LONGBOW_CUDA_LIBRARY names " + missing), e.getMessage());
    }

    @Test
    void theDynamicLinkerComesBeforeTheExtraDirectories() throws IOException {
        Path inExtra = Files.createFile(dir.resolve("libcuda.so.1"));
        Path fromLinker = Path.of("/usr/lib64/libcuda.so.1");
        assertEquals(fromLinker, driver(dir).locate(NO_PROPERTIES, Map.of(), name -> Optional.of(fromLinker)));
        assertEquals(inExtra, driver(dir).locate(NO_PROPERTIES, Map.of(), LINKER_HAS_NOTHING));
    }

    @Test
    void toolkitStubsAreNeverTheDriver() throws IOException {
        Path stubs = Files.createDirectories(dir.resolve("cuda/lib64/stubs"));
        Path stub = Files.createFile(stubs.resolve("libcuda.so.1"));
        var named = assertThrows(NativeLibraryException.class,
                () -> driver().locate(Map.of("longbow.cuda.library", stub.toString())::get, Map.of(), LINKER_HAS_NOTHING));
        assertTrue(named.getMessage().contains("stubs"), named.getMessage());
        var searched = assertThrows(NativeLibraryException.class,
                () -> driver(stubs).locate(NO_PROPERTIES, Map.of(), name -> Optional.of(stub)));
        assertTrue(searched.getMessage().startsWith("CUDA driver not found"), searched.getMessage());
    }

    @Test
    void theDynamicLinkerIsAskedForRealLibraries() {
        // libc is always mapped; its path comes from the process's mappings, as for libcuda.
        Optional<Path> libc = NativeLibrary.askDynamicLinker("libc.so.6");
        assertTrue(libc.isPresent() && libc.get().isAbsolute() && Files.isRegularFile(libc.get()), "libc.so.6 -> " + libc);
        assertEquals(Optional.empty(), NativeLibrary.askDynamicLinker("libdoes-not-exist.so.7"));
    }
}
