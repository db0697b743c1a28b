// rmsnorm.cu: RMSNorm forward and backward (ModelOps.rmsNormForward/Backward).
//
// Forward, one block per row x of d elements: r = 1/sqrt(mean(x^2) + eps); y = x r w; r is
// kept (rstd) for backward. The second pass re-reads the row, which is still in L1/L2.
// Backward, with c = r^2 * mean(dy w x):  dx = r (w dy - c x),  dw += sum over rows of dy x r.
// dw without atomics, deterministic: each block accumulates its rows' dy x r into its own
// row of a [blocks, d] fp32 partial in the workspace (a thread owns the same columns in every
// row, so no two threads touch one partial), then longbow_column_sum_f32 adds the partials
// into dw. The partials stay in L2 (blocks ~ 2 per SM).
// Reference: Zhang & Sennrich, "Root Mean Square Layer Normalization" (2019); llm.c's
// layernorm backward for the partial-sum scheme.
// Measured: not yet (written without a GPU).
#include "common.cuh"

template <class T>
__device__ void rmsnorm_forward(const T* __restrict__ x, const float* __restrict__ w, T* __restrict__ y,
                                float* __restrict__ rstd, int64_t rows, int64_t d, float eps) {
    __shared__ float scratch[32];
    constexpr int N = pack_size<T, T>();
    bool vec = d % N == 0 && aligned(x, 16) && aligned(y, 16) && aligned(w, 16);
    for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
        const T* xr = x + row * d;
        T* yr = y + row * d;
        float ss = 0;
        for_each_in_row<N>(d, vec,
            [&](int64_t j) {
                Pack<T, N> p = load_pack<N>(xr + j);
#pragma unroll
                for (int k = 0; k < N; k++) ss = fmaf(to_f32(p.v[k]), to_f32(p.v[k]), ss);
            },
            [&](int64_t j) { float v = to_f32(xr[j]); ss = fmaf(v, v, ss); });
        float r = rsqrtf(block_sum(ss, scratch) / d + eps);
        if (threadIdx.x == 0) rstd[row] = r;
        for_each_in_row<N>(d, vec,
            [&](int64_t j) {
                Pack<T, N> p = load_pack<N>(xr + j);
#pragma unroll
                for (int k = 0; k < N; k++) p.v[k] = from_f32<T>(to_f32(p.v[k]) * r * w[j + k]);
                store_pack<N>(yr + j, p);
            },
            [&](int64_t j) { yr[j] = from_f32<T>(to_f32(xr[j]) * r * w[j]); });
    }
}

template <class T>
__device__ void rmsnorm_backward(const T* __restrict__ x, const float* __restrict__ w, const float* __restrict__ rstd,
                                 const T* __restrict__ dy, T* __restrict__ dx, float* __restrict__ dw_partial,
                                 int64_t rows, int64_t d) {
    __shared__ float scratch[32];
    constexpr int N = pack_size<T, T>();
    bool vec = d % N == 0 && aligned(x, 16) && aligned(dy, 16) && aligned(dx, 16) && aligned(w, 16);
    float* partial = dw_partial + blockIdx.x * d;
    for_each_in_row<N>(d, vec, [&](int64_t j) { for (int k = 0; k < N; k++) partial[j + k] = 0.f; },
                       [&](int64_t j) { partial[j] = 0.f; });
    for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
        const T* xr = x + row * d;
        const T* dyr = dy + row * d;
        T* dxr = dx + row * d;
        float r = rstd[row];
        float dot = 0;
        for_each_in_row<N>(d, vec,
            [&](int64_t j) {
                Pack<T, N> a = load_pack<N>(xr + j), g = load_pack<N>(dyr + j);
#pragma unroll
                for (int k = 0; k < N; k++) dot = fmaf(to_f32(g.v[k]) * w[j + k], to_f32(a.v[k]), dot);
            },
            [&](int64_t j) { dot = fmaf(to_f32(dyr[j]) * w[j], to_f32(xr[j]), dot); });
        float c = r * r * block_sum(dot, scratch) / d;
        for_each_in_row<N>(d, vec,
            [&](int64_t j) {
                Pack<T, N> a = load_pack<N>(xr + j), g = load_pack<N>(dyr + j), out;
#pragma unroll
                for (int k = 0; k < N; k++) {
                    float xv = to_f32(a.v[k]), gv = to_f32(g.v[k]);
                    out.v[k] = from_f32<T>(r * (w[j + k] * gv - c * xv));
                    partial[j + k] += gv * xv * r;
                }
                store_pack<N>(dxr + j, out);
            },
            [&](int64_t j) {
                float xv = to_f32(xr[j]), gv = to_f32(dyr[j]);
                dxr[j] = from_f32<T>(r * (w[j] * gv - c * xv));
                partial[j] += gv * xv * r;
            });
    }
}

#define RMSNORM(tn, T)                                                                                     \
    extern "C" __global__ void longbow_rmsnorm_forward_##tn(const T* x, const float* w, T* y, float* rstd,  \
                                                            int64_t rows, int64_t d, float eps) {          \
        rmsnorm_forward(x, w, y, rstd, rows, d, eps);                                                      \
    }                                                                                                      \
    extern "C" __global__ void longbow_rmsnorm_backward_##tn(const T* x, const float* w, const float* rstd,  \
                                                             const T* dy, T* dx, float* dw_partial,        \
                                                             int64_t rows, int64_t d) {                    \
        rmsnorm_backward(x, w, rstd, dy, dx, dw_partial, rows, d);                                         \
    }
LONGBOW_FOR_FLOAT_TYPES(RMSNORM)

// acc[j] += sum over b < blocks of partial[b, j]: thread per column, coalesced over j.
extern "C" __global__ void longbow_column_sum_f32(const float* partial, int64_t blocks, int64_t d, float* acc) {
    for_each_index(d, [&](int64_t j) {
        float s = 0;
        for (int64_t b = 0; b < blocks; b++) s += partial[b * d + j];
        acc[j] += s;
    });
}
