# Sourced by ./mvnw, samples/longbow and .ci/run: the JDK Longbow builds and runs with.
# longbow_jdk prints $JAVA_HOME when it is a JDK 22 or newer, else the newest such JDK among the
# `java` on PATH and the usual install folders; with none, it says what it found and returns 1.
# POSIX sh.

longbow_java_feature() {
    "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'
}

longbow_jdk() (
    set +f  # globbing may be off in the caller (./mvnw runs with set -f)
    if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/javac" ] && [ "$(longbow_java_feature "$JAVA_HOME")" -ge 22 ] 2>/dev/null; then
        echo "$JAVA_HOME"
        return 0
    fi
    best="" best_v=0 seen=""
    on_path=""
    if command -v java >/dev/null 2>&1; then
        on_path=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
    fi
    for jdk in "${JAVA_HOME:-}" "$on_path" /usr/lib/jvm/* /opt/java/* /Library/Java/JavaVirtualMachines/*/Contents/Home; do
        [ -n "$jdk" ] && [ -x "$jdk/bin/javac" ] || continue
        case "$seen " in *" $jdk ("*) continue ;; esac
        v=$(longbow_java_feature "$jdk")
        v=${v:-0}
        seen="$seen $jdk (${v})"
        if [ "$v" -ge 22 ] 2>/dev/null && [ "$v" -gt "$best_v" ]; then
            best=$jdk
            best_v=$v
        fi
    done
    if [ -z "$best" ]; then
        echo "Longbow needs a JDK 22 or newer (the Foreign Function & Memory API); found:${seen:- none}. Install one (e.g. Temurin 25) and set JAVA_HOME to it." >&2
        return 1
    fi
    echo "$best"
)
