package dev.longbow.cuda;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * A shared library found by its runtime name and loaded once with {@link System#load}, so the
 * jextract bindings (generated without {@code --library}) resolve their symbols through the class
 * loader's lookup. Searched in order: the system property, the environment variable (either one,
 * when set, is the only place looked), the dynamic linker's own search ({@code LD_LIBRARY_PATH},
 * {@code ld.so.cache}, system directories), then the extra directories.
 *
 * @param what       what the library is, for messages: "CUDA driver"
 * @param fileName   the runtime name: "libcuda.so.1"
 * @param property   the system property that names the file
 * @param envVar     the environment variable that names the file
 * @param extraDirs  places the dynamic linker does not look but the library often is
 * @param rejectDirs directories whose copy must never be used (the driver stubs of the toolkit)
 */
public record NativeLibrary(String what, String fileName, String property, String envVar,
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
        return locate(System::getProperty, System.getenv(), NativeLibrary::askDynamicLinker);
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
     * Lets the dynamic linker search for the file, then reads the path it picked from the
     * process's mappings: the linker alone knows {@code ld.so.cache} and its configuration.
     */
    static Optional<Path> askDynamicLinker(String fileName) {
        try {
            SymbolLookup.libraryLookup(fileName, Arena.global());
        } catch (IllegalArgumentException notFound) {
            return Optional.empty();
        }
        try (Stream<String> maps = Files.lines(Path.of("/proc/self/maps"))) {
            return maps.map(line -> line.substring(line.lastIndexOf(' ') + 1))
                    .filter(file -> file.endsWith("/" + fileName))
                    .findFirst()
                    .map(Path::of);
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
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
