#!/usr/bin/env bash
# Builds the CUDA, NCCL and cuBLAS stand-ins with the system C compiler:
#   gpu-standin/build.sh [OUT]     libraries into OUT (default gpu-standin/target/lib)
#   gpu-standin/build.sh --test    also builds and runs the C tests (src/test/c: the collectives, the race
#                                  detector, the kernels' test_*.c)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
run_tests=0
out=$here/target/lib
for arg in "$@"; do
    case $arg in
        --test) run_tests=1 ;;
        *) out=$arg ;;
    esac
done
cc=${CC:-gcc}
src=$here/src/main/c
flags=(-std=gnu11 -O2 -g -fPIC -pthread -fvisibility=hidden -Wall -Wextra -Wno-unused-parameter -Werror -I"$src")
mkdir -p "$out" "$here/target/obj"

core=("$src"/driver.c "$src"/memory.c "$src"/streams.c "$src"/races.c "$src"/module.c "$src"/kernel_support.c "$src"/kernels/*.c)
"$cc" "${flags[@]}" -shared -Wl,-soname,liblongbow-standin-cuda.so -o "$out/liblongbow-standin-cuda.so" "${core[@]}" -lm
"$cc" "${flags[@]}" -shared -Wl,-soname,liblongbow-standin-nccl.so -Wl,-rpath,'$ORIGIN' -o "$out/liblongbow-standin-nccl.so" \
    "$src"/nccl.c -L"$out" -llongbow-standin-cuda -lm
"$cc" "${flags[@]}" -shared -Wl,-soname,liblongbow-standin-cublas.so -Wl,-rpath,'$ORIGIN' -o "$out/liblongbow-standin-cublas.so" \
    "$src"/cublas.c -L"$out" -llongbow-standin-cuda -lm
echo "gpu-standin: built $(cd "$out" && ls liblongbow-standin-*.so | paste -sd' ') in $out"

# Each library exports exactly the functions bindings/ binds from the real one (the CUDA stand-in
# also its si_* hooks for the other two), so a binding the stand-in lacks fails here, not at a call.
check_exports() {
    local lib=$1 includes=$2
    diff <(sed -n 's/^--include-function //p' "$includes" | sort) \
         <(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^si_' | sort) >/dev/null || {
        echo "gpu-standin: $(basename "$lib") does not export exactly the functions of $(basename "$includes"):" >&2
        diff <(sed -n 's/^--include-function //p' "$includes" | sort) \
             <(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^si_' | sort) >&2
        exit 1
    }
}
check_exports "$out/liblongbow-standin-cuda.so" "$here/../bindings/cuda.includes"
check_exports "$out/liblongbow-standin-nccl.so" "$here/../bindings/nccl.includes"
check_exports "$out/liblongbow-standin-cublas.so" "$here/../bindings/cublas.includes"

if [ "$run_tests" = 1 ]; then
    # The collectives and races tests drive the three libraries as Longbow does (ranks as threads).
    for test in collectives_test races_test; do
        exe=$here/target/obj/$test
        "$cc" "${flags[@]}" -o "$exe" "$here/src/test/c/$test.c" -L"$out" -llongbow-standin-nccl -llongbow-standin-cublas \
            -llongbow-standin-cuda -Wl,-rpath,"$out" -lm
        echo "gpu-standin: $test"
        "$exe"
    done
    # The kernels' tests run their CPU implementations without the driver (src/test/c/harness.c).
    for test in "$here"/src/test/c/test_*.c; do
        [ -e "$test" ] || continue
        exe=$here/target/obj/$(basename "$test" .c)
        "$cc" "${flags[@]}" -I"$here/src/test/c" -o "$exe" "$test" "$here/src/test/c/harness.c" "$src"/kernel_support.c "$src"/kernels/*.c -lm
        echo "gpu-standin: $(basename "$exe")"
        "$exe"
    done
fi
