#!/usr/bin/env bash
# Compiles the CUDA C kernels (src/main/cuda/*.cu) to the PTX committed under
# src/main/resources/dev/longbow/kernels/, so users of the jar need no CUDA toolkit.
#
#   build-ptx.sh           regenerate the committed PTX, then PTXAS_REPORT.md (check-ptxas.sh)
#   build-ptx.sh --check   regenerate into a temporary directory and fail if the committed PTX
#                          differs (stale, missing or orphaned); this is what `./mvnw verify` runs
#
# One PTX per source and target: NAME.sm_80.ptx and NAME.sm_90.ptx by default; a source that
# needs other targets says so in a line of its own, e.g. `// ptx-targets: sm_80 sm_90a` for a
# file with wgmma (sm_90a PTX runs on H100/H200 only; the backend picks the best file it can).
# Each PTX starts with a comment naming the sha256 of its source and the local headers it
# includes; when this nvcc is not the release that made the committed PTX, the byte comparison
# is impossible and --check compares those hashes instead, which still catches a source edited
# without regenerating.
set -euo pipefail
cd "$(dirname "$0")"
SRC=src/main/cuda
OUT=src/main/resources/dev/longbow/kernels
NVCC_FLAGS=(-ptx -std=c++17)

mode=build
case "${1:-}" in
  --check) mode=check ;;
  --one) mode=one ;;  # internal: --one SOURCE TARGET DIR, one compilation (run in parallel)
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

if ! command -v nvcc >/dev/null 2>&1; then
  if [ "$mode" = check ]; then
    echo "PTX staleness check skipped: nvcc not found on PATH (install the CUDA toolkit to run it)"
    exit 0
  fi
  echo "build-ptx.sh: nvcc not found on PATH" >&2; exit 1
fi
release=$(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')

targets_of() {  # the PTX targets a source asks for
  local t; t=$(sed -n 's|^// ptx-targets: *||p' "$1" | head -1)
  echo "${t:-sm_80 sm_90}"
}

deps_of() {  # the source and, transitively, the local headers it includes, sorted
  local todo=("$1") seen=() f inc
  while [ ${#todo[@]} -gt 0 ]; do
    f=${todo[0]}; todo=("${todo[@]:1}")
    [[ " ${seen[*]-} " == *" $f "* ]] && continue
    seen+=("$f")
    for inc in $(sed -n 's|^#include "\(.*\)".*|\1|p' "$SRC/$f"); do todo+=("$inc"); done
  done
  printf '%s\n' "${seen[@]}" | sort
}

sources_hash() {
  local f
  for f in $(deps_of "$1"); do sha256sum "$SRC/$f"; done | sed "s|$SRC/||" | sha256sum | cut -c1-64
}

compile_one() {  # compile_one SOURCE TARGET DIR
  local cu=$1 target=$2 dir=$3 base=${1%.cu}
  local out="$dir/$base.$target.ptx"
  nvcc "${NVCC_FLAGS[@]}" -arch="compute_${target#sm_}" "$SRC/$cu" -o "$out.tmp"
  { echo "// longbow: $cu for $target, sources sha256 $(sources_hash "$cu"), by kernels-ptx/build-ptx.sh"
    cat "$out.tmp"; } > "$out"
  rm "$out.tmp"
}
if [ "$mode" = one ]; then compile_one "$2" "$3" "$4"; exit; fi

jobs=()  # largest sources first, so the longest compilations do not trail at the end
for src in $(ls -S "$SRC"/*.cu); do
  cu=$(basename "$src")
  for t in $(targets_of "$src"); do jobs+=("$cu $t"); done
done

build_into() {  # all sources, in parallel, into DIR
  local dir=$1
  printf '%s\n' "${jobs[@]}" | xargs -P "$(nproc)" -L 1 sh -c './build-ptx.sh --one "$0" "$1" "'"$dir"'"'
}

if [ "$mode" = build ]; then
  mkdir -p "$OUT"
  rm -f "$OUT"/*.ptx
  build_into "$OUT"
  echo "PTX (nvcc $release): $(ls "$OUT"/*.ptx | wc -l) files in kernels-ptx/$OUT"
  exec ./check-ptxas.sh --report
fi

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
committed_release=$(cat "$OUT"/*.ptx 2>/dev/null | sed -n 's|^// Cuda compilation tools, release \([0-9.]*\),.*|\1|p' | sort -u | paste -sd' ')
stale=()
if [ "$committed_release" = "$release" ]; then
  build_into "$tmp"
  for f in "$tmp"/*.ptx; do
    name=$(basename "$f")
    cmp -s "$f" "$OUT/$name" || stale+=("$name")
  done
  how="regenerated with nvcc $release and compared"
else
  for job in "${jobs[@]}"; do
    set -- $job
    name="${1%.cu}.$2.ptx"
    head -1 "$OUT/$name" 2>/dev/null | grep -q "sources sha256 $(sources_hash "$1")," || stale+=("$name")
  done
  how="nvcc $release differs from the committed PTX's (${committed_release:-none}): compared source hashes only"
fi
for f in "$OUT"/*.ptx; do
  name=$(basename "$f"); base=${name%%.*}
  [ -f "$SRC/$base.cu" ] || stale+=("$name (no source $base.cu)")
done
if [ ${#stale[@]} -gt 0 ]; then
  echo "PTX is STALE ($how): ${stale[*]}" >&2
  echo "Run kernels-ptx/build-ptx.sh and commit src/main/resources/dev/longbow/kernels and PTXAS_REPORT.md." >&2
  exit 1
fi
echo "PTX up to date: ${#jobs[@]} files ($how)"
