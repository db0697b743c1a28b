package dev.longbow.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.source.tree.ClassTree;
import com.sun.source.tree.CompilationUnitTree;
import com.sun.source.tree.MethodTree;
import com.sun.source.tree.ModifiersTree;
import com.sun.source.tree.Tree;
import com.sun.source.tree.VariableTree;
import com.sun.source.util.DocTrees;
import com.sun.source.util.JavacTask;
import com.sun.source.util.TreePath;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.lang.model.element.Modifier;
import javax.tools.JavaCompiler;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;

/**
 * Every public type and member of every package the runtime exports to all modules has a doc
 * comment, and every such package has a package-info.java. Javadoc's own doclint runs with the
 * "missing" group off (it would also demand @param and @return on every method): this is the part
 * of "missing" Longbow keeps. Methods that override inherit their documentation and need none.
 */
class PublicApiDocumentedTest {
    private static final Path SOURCES = Path.of("src/main/java");
    private static final Pattern EXPORT = Pattern.compile("^\\s*exports\\s+([\\w.]+)\\s*;", Pattern.MULTILINE);

    static List<String> exportedPackages() throws IOException {
        Matcher m = EXPORT.matcher(Files.readString(SOURCES.resolve("module-info.java")));
        List<String> packages = new ArrayList<>();
        while (m.find()) {
            packages.add(m.group(1));
        }
        return packages;
    }

    @Test
    void everyExportedPackageHasAPackageInfo() throws IOException {
        List<String> missing = exportedPackages().stream()
                .filter(p -> !Files.exists(SOURCES.resolve(p.replace('.', '/')).resolve("package-info.java"))).toList();
        assertEquals(List.of(), missing, "exported packages without a package-info.java");
    }

    @Test
    void everyPublicTypeAndMemberOfTheExportedPackagesIsDocumented() throws IOException {
        List<Path> files = new ArrayList<>();
        for (String p : exportedPackages()) {
            try (Stream<Path> s = Files.list(SOURCES.resolve(p.replace('.', '/')))) {
                s.filter(f -> f.toString().endsWith(".java") && !f.endsWith("package-info.java")).forEach(files::add);
            }
        }
        assertTrue(files.size() > 50, "found only " + files.size() + " sources; run from the runtime module's folder");
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        List<String> undocumented = new ArrayList<>();
        try (StandardJavaFileManager fm = javac.getStandardFileManager(null, null, null)) {
            JavacTask task = (JavacTask) javac.getTask(null, fm, null, List.of("-proc:none"), null, fm.getJavaFileObjectsFromPaths(files));
            DocTrees docs = DocTrees.instance(task);
            for (CompilationUnitTree unit : task.parse()) {
                for (Tree t : unit.getTypeDecls()) {
                    if (t instanceof ClassTree c) {
                        checkType(docs, unit, c, false, undocumented);
                    }
                }
            }
        }
        assertEquals(List.of(), undocumented, undocumented.size() + " public declarations without a doc comment");
    }

    private static void checkType(DocTrees docs, CompilationUnitTree unit, ClassTree type, boolean inInterface, List<String> out) {
        if (!visible(type.getModifiers(), inInterface)) {
            return;
        }
        String where = unit.getSourceFile().getName().replaceFirst(".*/dev/longbow/", "") + ": ";
        require(docs, unit, type, where + "type " + type.getSimpleName(), out);
        boolean isInterface = type.getKind() == Tree.Kind.INTERFACE || type.getKind() == Tree.Kind.ANNOTATION_TYPE;
        for (Tree member : type.getMembers()) {
            switch (member) {
                case ClassTree nested -> checkType(docs, unit, nested, isInterface, out);
                case MethodTree m when visible(m.getModifiers(), isInterface) && !overrides(m) ->
                        require(docs, unit, m, where + type.getSimpleName() + "." + m.getName(), out);
                case VariableTree v when type.getKind() == Tree.Kind.ENUM && v.getModifiers().getFlags().isEmpty() ->
                        require(docs, unit, v, where + type.getSimpleName() + "." + v.getName(), out);
                case VariableTree v when visible(v.getModifiers(), isInterface) ->
                        require(docs, unit, v, where + type.getSimpleName() + "." + v.getName(), out);
                default -> {
                }
            }
        }
    }

    /** Public, or a member of an interface (implicitly public) that is not private. */
    private static boolean visible(ModifiersTree mods, boolean inInterface) {
        return mods.getFlags().contains(Modifier.PUBLIC) || mods.getFlags().contains(Modifier.PROTECTED)
                || inInterface && !mods.getFlags().contains(Modifier.PRIVATE);
    }

    private static boolean overrides(MethodTree m) {
        return m.getModifiers().getAnnotations().stream().anyMatch(a -> a.getAnnotationType().toString().equals("Override"));
    }

    private static void require(DocTrees docs, CompilationUnitTree unit, Tree tree, String what, List<String> out) {
        if (docs.getDocCommentTree(TreePath.getPath(unit, tree)) == null) {
            out.add(what);
        }
    }
}
