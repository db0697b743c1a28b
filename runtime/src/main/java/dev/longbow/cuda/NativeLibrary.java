package dev.longbow.cuda;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * A shared library found by its runtime name and loaded once with {@link System#load}, so the
 * jextract bindings (generated without {@code --library}) resolve their symbols through the class
 * loader's lookup. Searched in order: the system property, the environment variable (either one,
 * when set, is the only place looked), the dynamic linker's own search ({@code LD_LIBRARY_PATH},
 * {@code ld.so.cache}, system directories), then the extra directories.
 *
 * @param what       what the library is, for messages: "CUDA driver"
 * @param fileName   the runtime name: "libcuda.so.1"
 * @param symbol     a function the library exports ("cuInit"): where the dynamic linker mapped it
 *                   tells which file the linker loaded
 * @param property   the system property that names the file
 * @param envVar     the environment variable that names the file
 * @param extraDirs  places the dynamic linker does not look but the library often is
 * @param rejectDirs directories whose copy must never be used (the driver stubs of the toolkit)
 */
public record NativeLibrary(String what, String fileName, String symbol, String property, String envVar,
                            List<Path> extraDirs, List<String> rejectDirs) {

    public NativeLibrary {
        extraDirs = List.copyOf(extraDirs);
        rejectDirs = List.copyOf(rejectDirs);
    }

    /** Finds the library and loads it into the class loader that the bindings look symbols up in. */
    public Path load() {
        Path path = locate();
        try {
            System.load(path.toString());
        } catch (UnsatisfiedLinkError e) {
            throw new NativeLibraryException(what + " at " + path + " could not be loaded: " + e.getMessage(), e);
        }
        return path;
    }

    /** Where the library is, or an exception listing every place looked at. */
    public Path locate() {
        return locate(System::getProperty, System.getenv(), name -> askDynamicLinker(name, symbol));
    }

    /**
     * @param dynamicLinker asks the platform's loader for {@code fileName}; empty when it has none
     */
    Path locate(Function<String, String> properties, Map<String, String> env,
                Function<String, Optional<Path>> dynamicLinker) {
        String named = properties.apply(property);
        String source = "system property " + property;
        if (named == null || named.isBlank()) {
            named = env.get(envVar);
            source = "environment variable " + envVar;
        }
        if (named != null && !named.isBlank()) {
            Path path = Path.of(named).toAbsolutePath();
            if (!Files.isRegularFile(path)) {
                throw notFound(source + " names " + path + ", which is not a file");
            }
            return requireAccepted(path);
        }
        List<String> looked = new ArrayList<>();
        looked.add(property + " (unset)");
        looked.add(envVar + " (unset)");
        looked.add("the dynamic linker's search path");
        Optional<Path> fromLinker = dynamicLinker.apply(fileName);
        if (fromLinker.isPresent() && !rejected(fromLinker.get())) {
            return fromLinker.get();
        }
        for (Path dir : extraDirs) {
            Path candidate = dir.resolve(fileName);
            looked.add(candidate.toString());
            if (Files.isRegularFile(candidate) && !rejected(candidate)) {
                return candidate;
            }
        }
        throw notFound("looked in " + String.join(", ", looked));
    }

    private Path requireAccepted(Path path) {
        if (rejected(path)) {
            throw new NativeLibraryException(what + " at " + path + " is not usable: files under "
                    + rejectDirs + " are link-time stubs that fail every call; point " + property
                    + " or " + envVar + " at the real " + fileName);
        }
        return path;
    }

    private boolean rejected(Path path) {
        String p = path.toString();
        return rejectDirs.stream().anyMatch(p::contains);
    }

    private NativeLibraryException notFound(String detail) {
        return new NativeLibraryException(what + " not found (" + detail + "); set " + property
                + " or " + envVar + " to the path of " + fileName);
    }

    /**
     * Lets the dynamic linker search for {@code name} (its own search: {@code LD_LIBRARY_PATH},
     * {@code ld.so.cache}, the system folders), then finds the file it loaded: the mapping that
     * holds {@code symbol}. The runtime name is usually a symlink ({@code libcuda.so.1} ->
     * {@code libcuda.so.580.95.05}) and the mappings name the target, so matching names would miss it.
     */
    static Optional<Path> askDynamicLinker(String name, String symbol) {
        MemorySegment address;
        try {
            // The library stays loaded for the life of the process, as System.load keeps it anyway.
            address = SymbolLookup.libraryLookup(name, Arena.global()).find(symbol).orElse(null);
        } catch (IllegalArgumentException notFound) {
            return Optional.empty();
        }
        if (address == null) {
            return Optional.empty();
        }
        try {
            return mappedFile(address.address(), Files.readAllLines(Path.of("/proc/self/maps")));
        } catch (IOException | RuntimeException unreadable) {
            return Optional.empty();
        }
    }

    /** The file mapped at {@code address}, from lines of {@code /proc/self/maps}. */
    static Optional<Path> mappedFile(long address, List<String> maps) {
        for (String line : maps) {
            String[] fields = line.trim().split("\\s+", 6);
            if (fields.length < 6 || !fields[5].startsWith("/")) {
                continue;
            }
            String[] range = fields[0].split("-");
            long start = Long.parseUnsignedLong(range[0], 16);
            long end = Long.parseUnsignedLong(range[1], 16);
            if (Long.compareUnsigned(address, start) >= 0 && Long.compareUnsigned(address, end) < 0) {
                return Optional.of(Path.of(fields[5]));
            }
        }
        return Optional.empty();
    }

    /**
     * {@code site-packages/<sub>} of the Python environments NVIDIA's wheels are usually installed
     * in: the active virtualenv or conda, the user's, the system's.
     */
    public static List<Path> pythonPackageDirs(String sub) {
        List<Path> roots = new ArrayList<>();
        for (String env : List.of("VIRTUAL_ENV", "CONDA_PREFIX")) {
            String prefix = System.getenv(env);
            if (prefix != null && !prefix.isBlank()) {
                roots.add(Path.of(prefix, "lib"));
            }
        }
        roots.add(Path.of(System.getProperty("user.home"), ".local/lib"));
        roots.addAll(List.of(Path.of("/usr/local/lib"), Path.of("/usr/lib"), Path.of("/opt/conda/lib")));
        List<Path> dirs = new ArrayList<>();
        for (Path root : roots) {
            for (Path python : children(root, "python3*")) {
                dirs.add(python.resolve("site-packages").resolve(sub));
                dirs.add(python.resolve("dist-packages").resolve(sub));
            }
        }
        return dirs;
    }

    /** The entries of {@code dir} matching {@code glob}, in name order. */
    private static List<Path> children(Path dir, String glob) {
        List<Path> found = new ArrayList<>();
        if (Files.isDirectory(dir)) {
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, glob)) {
                entries.forEach(found::add);
            } catch (IOException unreadable) {
                return found;
            }
        }
        found.sort(null);
        return found;
    }
}
