// test.c: the CPU reading of the GPU tests' own kernels
// (runtime/src/test/resources/dev/longbow/cuda/saxpy.cu).
#include "kernel.h"
#include "standin.h"

// saxpy(float a, const float* x, float* y, long long n): thread i = blockIdx.x * blockDim.x +
// threadIdx.x updates y[i] if i < n, so the grid covers min(n, gridDim.x * blockDim.x) elements.
static int saxpy(si_launch *l) {
    float a = si_param_f32(l, 0);
    int64_t n = si_param_i64(l, 3);
    int64_t covered = (int64_t)l->grid.x * l->block.x;
    int64_t count = n < covered ? n : covered;
    if (count <= 0) return 0;
    const float *x = si_kernel_input(l, si_param_ptr(l, 1), (uint64_t)count * 4, 4);
    float *y = si_kernel_output(l, si_param_ptr(l, 2), (uint64_t)count * 4, 4);  // y = a x + y
    if (!x || !y) return l->error;
    for (int64_t i = 0; i < count; i++) y[i] = a * x[i] + y[i];
    return 0;
}

// echo_args(int i, long long l, float f, const float* p, long long* out): out[0..3] = i, l, the
// bits of f, p (never dereferenced).
static int echo_args(si_launch *l) {
    int64_t *out = si_kernel_output(l, si_param_ptr(l, 4), 4 * 8, 8);
    if (!out) return l->error;
    float f = si_param_f32(l, 2);
    int32_t bits;
    memcpy(&bits, &f, 4);
    out[0] = si_param_i32(l, 0);
    out[1] = si_param_i64(l, 1);
    out[2] = bits;
    out[3] = (int64_t)si_param_ptr(l, 3);
    return 0;
}

const si_kernel si_kernels_test[] = {
    {"saxpy", "fppl", saxpy},
    {"echo_args", "ilfpp", echo_args},
    {NULL, NULL, NULL},
};
