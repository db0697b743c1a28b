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
        return new NativeLibrary("CUDA driver", "libcuda.so.1", "cuInit", "longbow.cuda.library", "LONGBOW_CUDA_LIBRARY",
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
        Optional<Path> libc = NativeLibrary.askDynamicLinker("libc.so.6", "printf");
        assertTrue(libc.isPresent() && libc.get().isAbsolute() && Files.isRegularFile(libc.get()), "libc.so.6 -> " + libc);
        assertEquals(Optional.empty(), NativeLibrary.askDynamicLinker("libdoes-not-exist.so.7", "f"));
    }

    /**
     * A driver's soname is a symlink (libcuda.so.1 -> libcuda.so.580.95.05) and the process's
     * mappings name the target: the file the linker loaded is found by where a symbol lives.
     */
    @Test
    void aSonameThatIsASymlinkResolvesToTheFileTheLinkerLoaded() throws Exception {
        Path source = Files.writeString(dir.resolve("probe.c"), "int longbow_probe_symbol(void) { return 7; }\n");
        Path real = dir.resolve("libprobe.so.580.95.05");
        Process gcc = new ProcessBuilder("gcc", "-shared", "-fPIC", "-o", real.toString(), source.toString())
                .redirectErrorStream(true).start();
        assertEquals(0, gcc.waitFor(), new String(gcc.getInputStream().readAllBytes()));
        Path soname = Files.createSymbolicLink(dir.resolve("libprobe.so.1"), real.getFileName());
        assertEquals(Optional.of(real.toRealPath()), NativeLibrary.askDynamicLinker(soname.toString(), "longbow_probe_symbol")
                .map(p -> { try { return p.toRealPath(); } catch (IOException e) { throw new AssertionError(e); } }));
    }

    @Test
    void theMappingThatHoldsAnAddressNamesTheFile() {
        List<String> maps = List.of(
                "7f0000000000-7f0000001000 r--p 00000000 08:01 123 /usr/lib/x86_64-linux-gnu/libcuda.so.580.95.05",
                "7f0000001000-7f0000100000 r-xp 00001000 08:01 123 /usr/lib/x86_64-linux-gnu/libcuda.so.580.95.05",
                "7f0000200000-7f0000300000 rw-p 00000000 00:00 0 ",
                "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]");
        assertEquals(Optional.of(Path.of("/usr/lib/x86_64-linux-gnu/libcuda.so.580.95.05")),
                NativeLibrary.mappedFile(0x7f0000001234L, maps));
        assertEquals(Optional.empty(), NativeLibrary.mappedFile(0x7f0000200010L, maps));
        assertEquals(Optional.empty(), NativeLibrary.mappedFile(0x7ffd00000010L, maps));
    }
}
