#!/usr/bin/env bash
# Sourced by the bundle's run scripts: the bundled Java, Longbow's JVM flags, and the paths of
# libcuda.so.1 and libnccl.so.2 where NVIDIA's driver and Python wheels put them.
bundle=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
java=$bundle/runtime/bin/java
classpath=$(ls "$bundle"/jars/*.jar "$bundle"/lib/*.jar | paste -sd:)
jvm_flags=(--enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xss4m)

# Each helper prints what it finds, or nothing; none fails (the run scripts use set -e).

# first_file NAME DIR...: the first DIR/NAME that exists
first_file() {
    local name=$1 dir
    shift
    for dir in "$@"; do
        if [ -f "$dir/$name" ]; then
            echo "$dir/$name"
            return 0
        fi
    done
    return 0
}

# ld_cache NAME: where the dynamic linker's cache says NAME is
ld_cache() {
    { /sbin/ldconfig -p 2>/dev/null || ldconfig -p 2>/dev/null || true; } | awk -v n="$1" '$1 == n && /x86-64/ {print $NF; exit}'
}

# python_package_dir MODULE: the folder of an installed Python package (a wheel's nvidia/nccl)
python_package_dir() {
    local python
    for python in python3 python; do
        if command -v "$python" >/dev/null; then
            "$python" -c "import $1 as m; print(list(m.__path__)[0])" 2>/dev/null && return 0
        fi
    done
    return 0
}

# wheel_library NAME: NAME inside any installed NVIDIA Python wheel (nvidia/*/lib, nvidia/cu13/lib)
wheel_library() {
    local nvidia_dir
    nvidia_dir=$(python_package_dir nvidia)
    [ -n "$nvidia_dir" ] && find "$nvidia_dir" -maxdepth 3 -name "$1" -print -quit 2>/dev/null
    return 0
}

# One PTX JIT cache for every JVM of a run: the driver compiles each module once, the first time
# any JVM loads it, and every later JVM (each test class, each step) reuses the result.
export CUDA_CACHE_PATH=${CUDA_CACHE_PATH:-$bundle/cuda-jit-cache}
export CUDA_CACHE_MAXSIZE=${CUDA_CACHE_MAXSIZE:-4294967296}

cuda_library=${LONGBOW_CUDA_LIBRARY:-$(first_file libcuda.so.1 /usr/lib/x86_64-linux-gnu /usr/local/nvidia/lib64 /usr/lib64 /usr/lib/wsl/lib)}
cuda_library=${cuda_library:-$(ld_cache libcuda.so.1)}
nccl_library=${LONGBOW_NCCL_LIBRARY:-}
if [ -z "$nccl_library" ]; then
    nccl_dir=$(python_package_dir nvidia.nccl)
    nccl_library=$(first_file libnccl.so.2 ${nccl_dir:+"$nccl_dir/lib"} /usr/lib/x86_64-linux-gnu /usr/local/nvidia/lib64 /usr/lib64)
    nccl_library=${nccl_library:-$(ld_cache libnccl.so.2)}
fi
cublas_library=${LONGBOW_CUBLAS_LIBRARY:-$(wheel_library libcublas.so.13)}
cublas_library=${cublas_library:-$(first_file libcublas.so.13 /usr/local/cuda/lib64 /usr/lib/x86_64-linux-gnu)}
if [ -n "$cuda_library" ]; then
    jvm_flags+=("-Dlongbow.cuda.library=$cuda_library")
fi
if [ -n "$nccl_library" ]; then
    jvm_flags+=("-Dlongbow.nccl.library=$nccl_library")
fi
if [ -n "$cublas_library" ]; then
    jvm_flags+=("-Dlongbow.cublas.library=$cublas_library")
fi
echo "longbow: cuBLAS ${cublas_library:-not found here, matmul uses the GEMM kernels of kernels-ptx}" >&2
echo "longbow: CUDA driver ${cuda_library:-not found here (Java will search and say where)}; NCCL ${nccl_library:-not found here}" >&2
