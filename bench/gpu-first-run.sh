#!/usr/bin/env bash
# The first run of Longbow's Java GPU path on a real GPU, fastest signal first. Each step runs in
# its own JVM under its own time limit, so a hang or a crash costs one step, not the session;
# every step runs even if an earlier one failed. Leaves two files in OUT_DIR: first-run.log (what
# every step printed, and a summary table) and first-run-reports.tar.gz (JUnit XML per step).
#
#   bench/gpu-bundle.sh                       # on the development machine: dist/gpu-bundle.tar.gz
#   bench/gpu-first-run.sh OUT_DIR            # on the GPU machine, from the repository root
#
# Needs dist/gpu-bundle.tar.gz (or dist/gpu-bundle/) beside it; no JDK, no network. The time
# limits add up to ten minutes; on the CPU stand-in (LONGBOW_*_LIBRARY pointing at gpu-standin's
# libraries) steps 1-7 pass in about two minutes and FlashBench's sizes time out, as expected of a
# CPU. The results go into bench/gpu/RESULTS-java.md with this command.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: $0 OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
log=$out/first-run.log
reports=$(mktemp -d)
exec > >(tee "$log") 2>&1

if [ ! -d "$root/dist/gpu-bundle" ]; then
    tar -C "$root/dist" -xzf "$root/dist/gpu-bundle.tar.gz" || { echo "no dist/gpu-bundle.tar.gz: run bench/gpu-bundle.sh first"; exit 2; }
fi
bundle=$root/dist/gpu-bundle
echo "== $(date -u +%FT%TZ) $(hostname), $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo 'no git')"
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>&1 | head -8

declare -a summary
# step NAME SECONDS COMMAND...: runs the command under a time limit, records pass/fail/timeout
step() {
    local name=$1 limit=$2 started status
    shift 2
    echo
    echo "== step $name (limit ${limit}s): $*"
    started=$(date +%s)
    timeout --kill-after=10 "$limit" "$@"
    status=$?
    local verdict=ok
    [ $status -eq 124 ] || [ $status -eq 137 ] && verdict="TIMEOUT"
    [ $status -ne 0 ] && [ "$verdict" = ok ] && verdict="FAILED ($status)"
    summary+=("$(printf '%-24s %-14s %4ss' "$name" "$verdict" $(( $(date +%s) - started )))")
}

# tests NAME SECONDS CLASS...: the named @Tag("gpu") classes, JUnit reports into the archive
tests() {
    local name=$1 limit=$2 selection=()
    shift 2
    for class in "$@"; do
        selection+=(--select-class "$class")
    done
    step "$name" "$limit" "$bundle/run-gpu-tests.sh" "$reports/$name" "${selection[@]}"
}

tests 1-driver 60 dev.longbow.cuda.CudaDeviceGpuTest dev.longbow.cuda.CudaKernelGpuTest dev.longbow.cuda.CudaEventGpuTest
tests 2-nccl-one-rank 45 dev.longbow.nccl.NcclGpuTest
tests 3-backend-flash 90 dev.longbow.kernels.CudaBackendGpuTest dev.longbow.kernels.CudaAttentionGpuTest \
    dev.longbow.kernels.CudaFaultGpuTest
CUDA_LAUNCH_BLOCKING=1 tests 4-kernels-blocking 90 dev.longbow.kernels.CudaTensorOpsGpuTest \
    dev.longbow.kernels.CudaModelOpsGpuTest dev.longbow.kernels.CudaMatmulGpuTest dev.longbow.kernels.CudaThreadsGpuTest
tests 5-schemes-one-gpu 90 dev.longbow.kernels.CudaSchemesGpuTest dev.longbow.kernels.DeviceSchemesGpuTest
tests 6-train-vs-cpu 120 dev.longbow.samples.cli.CudaTrainingGpuTest dev.longbow.kernels.CudaMixedPrecisionGpuTest
tests 7-nccl-ranks 45 dev.longbow.comm.nccl.NcclCommunicatorGpuTest dev.longbow.kernels.NcclSchemesGpuTest
step 8-flash-bench 60 "$bundle/run-java.sh" dev.longbow.kernels.FlashBench

echo
echo "== summary (bench/gpu/RESULTS.md has the kernels' numbers from Python for step 8)"
printf '%s\n' "${summary[@]}"
tar -C "$reports" -czf "$out/first-run-reports.tar.gz" .
rm -rf "$reports"
echo "log: $log; reports: $out/first-run-reports.tar.gz"
