#!/usr/bin/env bash
# Makes the peer's Debian trixie root for the side-by-side runs (PyTorch on the CPU with
# OpenBLAS), outside the repository: bench/peer/make-root.sh [DIR] (default /work/peer-root).
# Needs root and debootstrap (apt-get install debootstrap); about 1.5 GB and a few minutes.
# Nothing of it is committed; bench/side-by-side.sh runs the peer inside it with chroot.
set -euo pipefail
root=${1:-/work/peer-root}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [[ -x "$root/usr/bin/python3" ]] && chroot "$root" python3 -c 'import torch' 2>/dev/null; then
    echo "peer root ready: $root"
    exit 0
fi
mkdir -p "$root"
debootstrap --variant=minbase trixie "$root" "$mirror"
# python3-torch brings OpenBLAS through libblas3 alternatives; libopenblas0-pthread is the
# AVX-512 build that OPENBLAS_CORETYPE=SkylakeX selects on Zen 5 (0.3.29 takes it for Haswell).
chroot "$root" apt-get install -y --no-install-recommends python3-torch python3-numpy libopenblas0-pthread
chroot "$root" apt-get clean
chroot "$root" python3 -c 'import torch; print("peer root ready:", torch.__version__, torch.__config__.parallel_info().splitlines()[0])'
