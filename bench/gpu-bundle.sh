#!/usr/bin/env bash
# Builds dist/gpu-bundle/: everything needed to run Longbow's GPU tests and benchmarks on a GPU
# machine that has no JDK and no network, and dist/gpu-bundle.tar.gz, the same folder packed to
# travel beside the repository (bench/gpu-first-run.sh unpacks it). Copy it over, then:
#   gpu-bundle/run-gpu-tests.sh REPORTS_DIR      every @Tag("gpu") test of every module's test jar
#   gpu-bundle/run-java.sh MAIN_CLASS [ARGS...]  any main class (e.g. org.openjdk.jmh.Main)
# Needs JAVA_HOME (JDK 22+ with jmods or a jlink-able runtime) and Maven Central (or a warm ~/.m2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
: "${JAVA_HOME:?set JAVA_HOME to a JDK 22 or newer}"
bundle=$root/dist/gpu-bundle
# What one trip to a GPU machine carries is 64 MiB: the tracked tree plus the packed bundle must
# stay well under it.
limit_mib=56
junit_version=$(sed -n 's:.*<junit.version>\(.*\)</junit.version>.*:\1:p' pom.xml)
console_version=1.${junit_version#5.} # JUnit 5.x.y ships with Platform 1.x.y

echo "gpu-bundle: building the project (tests compiled, not run)"
rm -rf "$bundle"
mkdir -p "$bundle/jars" "$bundle/lib"
# The junit jars come inside the console launcher; dev.longbow's own jars are copied from target/.
./mvnw -B -q package -DskipTests dependency:copy-dependencies \
    -DincludeScope=test -DoutputDirectory="$bundle/lib" \
    -DexcludeGroupIds=dev.longbow,org.junit.jupiter,org.junit.platform,org.opentest4j,org.apiguardian \
    -DexcludeArtifactIds=jmh-generator-annprocess
./mvnw -B -q dependency:copy -Dartifact="org.junit.platform:junit-platform-console-standalone:$console_version" \
    -DoutputDirectory="$bundle" -Dmdep.stripVersion=true
for jar in */target/longbow-*.jar; do
    cp "$jar" "$bundle/jars/"
done

# The smallest runtime that runs them: what jdeps finds in each jar, plus what is loaded
# reflectively (the Vector API by flag, JUnit's XML reports and jar scanning, JMH's profilers),
# less java.desktop (15 MiB): only charts want it (xchart for the planner's PNG, commons-math3's
# 2D geometry), and charts are drawn on the development machine, not the GPU box.
feature=$("$JAVA_HOME/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
module_path=$(ls "$bundle"/jars/*.jar "$bundle"/lib/*.jar | grep -v -- '-tests\.jar$' | paste -sd:)
found=$(for jar in "$bundle"/jars/*.jar "$bundle"/lib/*.jar "$bundle/junit-platform-console-standalone.jar"; do
    "$JAVA_HOME/bin/jdeps" --print-module-deps --ignore-missing-deps --multi-release "$feature" \
        --module-path "$module_path" "$jar" 2>/dev/null | tail -1 | tr , '\n'
done)
modules=$(printf '%s\n' $found java.base java.logging java.management java.xml jdk.incubator.vector jdk.management jdk.unsupported jdk.zipfs |
    grep -E '^(java|jdk)\.' | grep -vx java.desktop | sort -u | paste -sd,)
echo "gpu-bundle: jlink $modules"
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --output "$bundle/runtime" \
    --strip-debug --no-man-pages --no-header-files --compress=zip-9
# The charting jars go too (5 MiB; they stayed until now for jdeps, which resolves samples' module graph).
(cd "$bundle/lib" && rm -f xchart-*.jar pdfbox*.jar fontbox-*.jar graphics2d-*.jar VectorGraphics2D-*.jar animated-gif-lib-*.jar commons-logging-*.jar)
if command -v strip >/dev/null; then
    strip --strip-unneeded "$bundle/runtime/lib/server/libjvm.so" # its symbol table alone is 5 MiB
fi

cp bench/gpu-bundle-files/*.sh "$bundle/"
chmod +x "$bundle"/*.sh

tar -C "$root/dist" -czf "$root/dist/gpu-bundle.tar.gz" gpu-bundle
size_kib=$(du -sk "$bundle" | cut -f1)
packed_kib=$(( $(stat -c %s "$root/dist/gpu-bundle.tar.gz") / 1024 ))
tree_kib=$(git -C "$root" ls-files -z | xargs -0 stat -c %s | awk '{ bytes += $1 } END { print int(bytes / 1024) }')
echo "gpu-bundle: $bundle is $((size_kib / 1024)) MiB ($(ls "$bundle/jars" | wc -l) project jars, $(ls "$bundle/lib" | wc -l) dependencies);" \
    "dist/gpu-bundle.tar.gz $((packed_kib / 1024)) MiB + the tracked tree $((tree_kib / 1024)) MiB = $(((packed_kib + tree_kib) / 1024)) MiB"
if [ $((packed_kib + tree_kib)) -gt $((limit_mib * 1024)) ]; then
    echo "gpu-bundle: the packed bundle and the tracked tree are larger than $limit_mib MiB" >&2
    exit 1
fi
