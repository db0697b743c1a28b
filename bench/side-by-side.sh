#!/usr/bin/env bash
# Longbow's CPU backend beside PyTorch on the CPU, in one run: flash attention (B=1 H=8 fp32
# causal, S 4096/16384, D 64/128, forward and forward+backward) and one training step of the tiny
# and small Llama (sequence 4096/16384), at 1 and 2 threads, interleaved round by round; prints
# Markdown tables of medians, ranges and ratios. Options pass to bench/peer/side_by_side.py, e.g.
#   bench/side-by-side.sh --rounds 3 --peak 200
#   bench/side-by-side.sh --parts attention --sizes 4096 --rounds 1 --max-load 100 --max-foreign 100   # a quick look on a busy machine
# Needs root (chroot) and the peer's Debian root: bench/peer/make-root.sh [PEER_ROOT] makes it.
# PyTorch runs with OPENBLAS_CORETYPE=SkylakeX (OpenBLAS 0.3.29 takes Zen 5 for Haswell),
# OPENBLAS_NUM_THREADS=1, OMP_NUM_THREADS=N, torch.set_num_threads(N), and glibc's malloc told to
# keep freed memory (GLIBC_TUNABLES mmap_threshold=4 GiB, trim_threshold=64 GiB): with the
# defaults PyTorch page-faults its activations afresh every step, ~10 us a page in these VMs.
# Longbow's JVM gets the same GLIBC_TUNABLES (its backend pools a step's memory itself; the
# setting keeps a finished workload's memory for the next one, as it does for PyTorch).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=${PEER_ROOT:-/work/peer-root}
. "$here/../.mvn/jdk.sh"
java=$(longbow_jdk)/bin/java
jar=$here/target/benchmarks.jar
[[ -f "$jar" ]] || (cd "$here/.." && ./mvnw -B -q -pl bench -am package -DskipTests)
[[ -x "$root/usr/bin/python3" ]] || { echo "no peer root at $root: run bench/peer/make-root.sh $root first" >&2; exit 2; }
mkdir -p "$root/opt/longbow-peer"
cp "$here/peer/torch_peer.py" "$root/opt/longbow-peer/"
mounted=()
for fs in proc sys; do
    if ! mountpoint -q "$root/$fs"; then
        if [[ $fs == proc ]]; then mount -t proc proc "$root/proc"; else mount --bind /sys "$root/sys"; fi
        mounted+=("$root/$fs")
    fi
done
trap 'for m in "${mounted[@]}"; do umount "$m"; done' EXIT
python3 "$here/peer/side_by_side.py" --jar "$jar" --java "$java" --root "$root" "$@"
