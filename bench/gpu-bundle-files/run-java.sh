#!/usr/bin/env bash
# Runs any main class with the bundled Java, Longbow's flags and the located CUDA/NCCL libraries:
#   run-java.sh MAIN_CLASS [ARGS...]          e.g. run-java.sh org.openjdk.jmh.Main -l
# JAVA_OPTS adds JVM options (-Xmx64g, -Dsomething=...).
set -euo pipefail
source "$(dirname "$0")/longbow-env.sh"
[ $# -ge 1 ] || { echo "usage: $0 MAIN_CLASS [ARGS...]" >&2; exit 2; }
# shellcheck disable=SC2086 # JAVA_OPTS is a list of options
exec "$java" "${jvm_flags[@]}" ${JAVA_OPTS:-} -cp "$classpath" "$@"
