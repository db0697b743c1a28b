package dev.longbow.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The README's "Use Longbow from your application" shows the programs that examples/ builds and
 * runs in verify: every code line it shows is a line of those programs, so the README cannot
 * drift from what CI runs. And the BOM, which has no parent, carries the build's version.
 */
class ReadmeProgramsTest {
    private static final Path ROOT = Path.of("..");
    private static final Pattern JAVA_BLOCK = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);
    private static final Pattern VERSION = Pattern.compile("<artifactId>(longbow-parent|longbow-bom)</artifactId>\\s*<version>([^<]+)</version>");

    @Test
    void everyLineOfTheReadmeProgramsIsInTheExamplesThatCiRuns() throws IOException {
        String readme = Files.readString(ROOT.resolve("README.md"));
        int from = readme.indexOf("## Use Longbow from your application");
        assertTrue(from >= 0, "README.md has no section \"Use Longbow from your application\"");
        String section = readme.substring(from, readme.indexOf("\n## ", from + 1));
        List<String> programs;
        try (Stream<Path> files = Files.walk(ROOT.resolve("examples/app/src/main/java"))) {
            programs = files.filter(f -> f.toString().endsWith(".java")).map(ReadmeProgramsTest::read).toList();
        }
        Matcher m = JAVA_BLOCK.matcher(section);
        List<String> missing = new ArrayList<>();
        int blocks = 0;
        while (m.find()) {
            blocks++;
            for (String line : m.group(1).split("\n")) {
                String code = line.strip();
                // "// ..." lines stand for code the README leaves out.
                if (code.isEmpty() || code.startsWith("// ...")) {
                    continue;
                }
                if (programs.stream().noneMatch(p -> p.lines().map(String::strip).anyMatch(code::equals))) {
                    missing.add(code);
                }
            }
        }
        assertEquals(2, blocks, "the section shows the two programs");
        assertEquals(List.of(), missing, "README lines that are not in examples/app");
    }

    @Test
    void theBomHasTheBuildsVersion() throws IOException {
        assertEquals(version(ROOT.resolve("pom.xml"), "longbow-parent"), version(ROOT.resolve("bom/pom.xml"), "longbow-bom"));
    }

    private static String version(Path pom, String artifact) throws IOException {
        Matcher m = VERSION.matcher(Files.readString(pom));
        while (m.find()) {
            if (m.group(1).equals(artifact)) {
                return m.group(2);
            }
        }
        throw new AssertionError(pom + " declares no version of " + artifact);
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
