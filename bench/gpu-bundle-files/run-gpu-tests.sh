#!/usr/bin/env bash
# Runs every @Tag("gpu") test in every test jar of the bundle with JUnit's console launcher:
#   run-gpu-tests.sh REPORTS_DIR [LAUNCHER OPTIONS...]   e.g. --select-class dev.longbow.cuda.CudaKernelGpuTest
# Writes JUnit XML reports and the console output (console.txt) to REPORTS_DIR; exits non-zero
# if a test failed.
set -euo pipefail
source "$(dirname "$0")/longbow-env.sh"
[ $# -ge 1 ] || { echo "usage: $0 REPORTS_DIR [LAUNCHER OPTIONS...]" >&2; exit 2; }
reports=$1
shift
mkdir -p "$reports"
test_jars=$(ls "$bundle"/jars/*-tests.jar | paste -sd:)
selection=(--scan-class-path "$test_jars")
for arg in "$@"; do
    [[ $arg == --select* ]] && selection=()
done
echo "longbow: test jars $(ls "$bundle"/jars/*-tests.jar | xargs -n1 basename | paste -sd' ')" >&2
# shellcheck disable=SC2086 # JAVA_OPTS is a list of options
"$java" "${jvm_flags[@]}" ${JAVA_OPTS:-} -jar "$bundle/junit-platform-console-standalone.jar" execute \
    --class-path "$classpath" "${selection[@]}" --include-tag gpu \
    --reports-dir "$reports" --details tree --disable-banner --fail-if-no-tests "$@" 2>&1 | tee "$reports/console.txt"
