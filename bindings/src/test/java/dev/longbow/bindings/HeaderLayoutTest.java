package dev.longbow.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every bound constant, typedef and struct against the C compiler's view of the same header:
 * sizes, alignments and field offsets of the jextract layouts, values of the constants. Headers
 * not on this machine are skipped (see bindings/README.md for where each comes from).
 */
class HeaderLayoutTest {
    /** Version numbers are the header's own; a newer header of the same ABI is still a valid reference. */
    private static final Pattern VERSION = Pattern.compile("NCCL_(MAJOR|MINOR|PATCH|VERSION_CODE)|CUBLAS_VER_.*");

    private static final Path CUDA_INCLUDE = Path.of(System.getenv().getOrDefault("CUDA_INCLUDE", "/usr/local/cuda/include"));

    @TempDir
    Path work;

    @ParameterizedTest
    @ValueSource(strings = {"cuda", "nccl", "cublas"})
    void boundSymbolsMatchTheHeader(String packageName) throws Exception {
        assumeTrue(CProbe.compiler() != null, "no C compiler on PATH");
        assumeTrue(Files.isRegularFile(CUDA_INCLUDE.resolve("cuda.h")), "no CUDA headers in " + CUDA_INCLUDE + " (set CUDA_INCLUDE)");
        Path header = switch (packageName) {
            case "cuda" -> CUDA_INCLUDE.resolve("cuda.h");
            case "nccl" -> envPath("NCCL_HEADER", "");
            default -> envPath("CUBLAS_INCLUDE", "cublas_api.h");
        };
        assumeTrue(header != null && Files.isRegularFile(header),
                packageName + " header not on this machine (set " + (packageName.equals("nccl") ? "NCCL_HEADER" : "CUBLAS_INCLUDE") + ")");
        System.out.println(packageName + ": checking against " + header);

        IncludeList includes = IncludeList.read(packageName);
        Class<?> headerClass = includes.bindingClass(packageName + "_h");
        StringBuilder probe = new StringBuilder("#include <stdio.h>\n#include <stddef.h>\n#include \"" + header + "\"\nint main(void) {\n");
        List<Consumer<Map<String, Long>>> checks = new ArrayList<>();

        for (String name : includes.names("constant")) {
            probe.append("    printf(\"%s %lld\\n\", \"const:").append(name).append("\", (long long) (").append(name).append("));\n");
            Object javaValue = headerClass.getMethod(name).invoke(null);
            if (!VERSION.matcher(name).matches()) {
                checks.add(c -> assertEquals(c.get("const:" + name), ((Number) javaValue).longValue(), "constant " + name));
            }
        }
        List<String> types = new ArrayList<>(includes.names("typedef"));
        includes.names("struct").forEach(s -> types.add("struct " + s));
        for (String type : types) {
            String simpleName = type.replace("struct ", "");
            MemoryLayout layout = layoutOf(includes, headerClass, simpleName);
            probe.append("    printf(\"%s %zu\\n\", \"sizeof:").append(simpleName).append("\", sizeof(").append(type).append("));\n");
            probe.append("    printf(\"%s %zu\\n\", \"alignof:").append(simpleName).append("\", _Alignof(").append(type).append("));\n");
            checks.add(c -> assertEquals(c.get("sizeof:" + simpleName), layout.byteSize(), "sizeof(" + type + ")"));
            checks.add(c -> assertEquals(c.get("alignof:" + simpleName), layout.byteAlignment(), "_Alignof(" + type + ")"));
            if (layout instanceof GroupLayout group) {
                long[] offset = {0};
                for (MemoryLayout member : group.memberLayouts()) {
                    long at = offset[0];
                    offset[0] += member.byteSize();
                    if (member.name().isEmpty()) {
                        continue; // padding
                    }
                    String key = "offsetof:" + simpleName + "." + member.name().get();
                    probe.append("    printf(\"%s %zu\\n\", \"").append(key).append("\", offsetof(").append(type).append(", ")
                            .append(member.name().get()).append("));\n");
                    checks.add(c -> assertEquals(c.get(key), at, "offsetof(" + type + ", " + member.name().get() + ")"));
                }
            }
        }
        for (String function : includes.names("function")) {
            probe.append("    printf(\"%s %d\\n\", \"declared:").append(function).append("\", (int) sizeof(&").append(function).append("));\n");
            checks.add(c -> assertTrue(c.containsKey("declared:" + function), function + " is declared by the header"));
        }
        probe.append("    return 0;\n}\n");

        Map<String, Long> reference = CProbe.run(probe.toString(), List.of(header.getParent(), CUDA_INCLUDE), work);
        checks.forEach(check -> check.accept(reference));
        System.out.println(packageName + ": " + checks.size() + " facts agree with the C compiler");
    }

    /** A struct's generated class, or a scalar typedef's layout constant in the header class. */
    private static MemoryLayout layoutOf(IncludeList includes, Class<?> headerClass, String name) throws Exception {
        try {
            Method layout = includes.bindingClass(name).getMethod("layout");
            return (MemoryLayout) layout.invoke(null);
        } catch (ClassNotFoundException scalar) {
            return (MemoryLayout) headerClass.getField(name).get(null);
        }
    }

    private static Path envPath(String variable, String child) {
        String value = System.getenv(variable);
        return value == null || value.isBlank() ? null : Path.of(value).resolve(child);
    }
}
