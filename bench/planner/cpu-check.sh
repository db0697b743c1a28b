#!/usr/bin/env bash
# The planner's prediction for the CPU runs of the scheme samples beside their measured times, in one JVM at steady state:
# CpuCheck warms up, then runs ROUNDS rounds, each measuring the calibration (copy bandwidth; the in-process
# communicator's latency per message; the attention kernels' throughput for each call shape the schemes issue, RANKS
# callers at once; a one-rank Ring run) and every scheme on RANKS threads, ITERATIONS timed passes each. It prints
# medians over all rounds. A long run (about two minutes at the defaults): use a quiet machine.
# Usage: bench/planner/cpu-check.sh CLASSPATH
set -euo pipefail
CP=$1; RANKS=${RANKS:-4}; S=${S:-2048}; ROUNDS=${ROUNDS:-8}; ITERATIONS=${ITERATIONS:-4}; H=8; D=64
exec "${JAVA_HOME:?}/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp "$CP" \
  dev.longbow.samples.plancheck.CpuCheck "$RANKS" "$S" "$H" "$D" "$ROUNDS" "$ITERATIONS" 2>/dev/null
