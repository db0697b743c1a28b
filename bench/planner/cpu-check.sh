#!/usr/bin/env bash
# The planner's prediction for the CPU runs of the scheme samples beside their measured times.
# CpuPrediction calibrates the model (copy bandwidth; the attention kernels' throughput for each call shape the schemes
# issue, RANKS callers at once), then each scheme runs on RANKS threads. The last column prices every call at a one-rank
# Ring run's throughput instead (the model before rates by shape). Short runs: the cores may be shared.
# Usage: bench/planner/cpu-check.sh CLASSPATH
set -euo pipefail
CP=$1; RANKS=${RANKS:-4}; S=${S:-2048}; ITERATIONS=${ITERATIONS:-8}; H=8; D=64
J="${JAVA_HOME:?}/bin/java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp $CP"
ms() { awk -v p="$1" '$1 == p { print $2 }'; }
gflops() { awk -v p="$1" '$1 == p { print $4 }'; }
one=$($J dev.longbow.samples.RingSample --ranks 1 --seq-len "$S" --check false --iterations "$ITERATIONS" --seed 1 2>/dev/null)
fwd=$(echo "$one" | gflops forward); bwd=$(echo "$one" | gflops backward)
predicted=$($J dev.longbow.samples.cli.CpuPrediction "$RANKS" "$S" "$H" "$D" "$ITERATIONS" "$fwd" "$bwd" 2>/dev/null)
echo "S=$S H=$H D=$D causal, $RANKS ranks; one rank: forward $fwd GFLOP/s, backward $bwd GFLOP/s; $(echo "$predicted" | grep '^copy')"
echo "kernel throughput by call shape, $RANKS callers at once:"
echo "$predicted" | sed -n 's/^rate /- /p'
echo "| scheme | forward measured (ms) | predicted | backward measured (ms) | predicted | error fwd | error bwd | error fwd+bwd | one rate for every call: error fwd+bwd |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for scheme in Ulysses Ring Hybrid WallFacer Fpdt; do
  out=$($J dev.longbow.samples.${scheme}Sample --ranks "$RANKS" --seq-len "$S" --check false --iterations "$ITERATIONS" --seed 1 2>/dev/null)
  mf=$(echo "$out" | ms forward); mb=$(echo "$out" | ms backward)
  read -r _ pf pb cf cb <<<"$(echo "$predicted" | grep -i "^${scheme} ")"
  awk -v s="$scheme" -v mf="$mf" -v pf="$pf" -v mb="$mb" -v pb="$pb" -v cf="$cf" -v cb="$cb" \
    'BEGIN { printf "| %s | %.1f | %.1f | %.1f | %.1f | %+.0f%% | %+.0f%% | %+.0f%% | %+.0f%% |\n", s, mf, pf, mb, pb,
      100*(pf/mf-1), 100*(pb/mb-1), 100*((pf+pb)/(mf+mb)-1), 100*((cf+cb)/(mf+mb)-1) }'
done
