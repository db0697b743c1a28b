// elementwise.cu: convert, fill, axpy, scale, sum of squares (TensorOps).
//
// Algorithm: memory-bound streams. Each thread moves a whole 16-byte word of the wider type per
// step (4 f32, or 8 bf16/f16; mixed types move 4 or 8 elements of each) when every pointer is
// aligned to its word, and single elements otherwise or for the tail; the grid is strided, so
// the host launches a fixed grid (a few waves per SM) for any size. Arithmetic is fp32; stores
// round to nearest even.
// Sum of squares: fp64 accumulation, two passes and no atomics, so every run gives the same
// bits: pass 1 leaves one partial per block in the workspace, pass 2 (one block) adds them.
// Roofline: copy bandwidth (A100 ~1.5 TB/s, H100 ~3 TB/s).
// Measured: not yet (written without a GPU).
#include "common.cuh"

template <class S, class D>
__device__ void convert(const S* __restrict__ src, D* __restrict__ dst, int64_t n) {
    constexpr int N = pack_size<S, D>();
    for_each_pack<N>(n, aligned(src, N * sizeof(S)) && aligned(dst, N * sizeof(D)),
        [&](int64_t i0) {
            Pack<S, N> s = load_pack<N>(src + i0);
            Pack<D, N> d;
#pragma unroll
            for (int j = 0; j < N; j++) d.v[j] = from_f32<D>(to_f32(s.v[j]));
            store_pack<N>(dst + i0, d);
        },
        [&](int64_t i) { dst[i] = from_f32<D>(to_f32(src[i])); });
}

template <class X, class Y>
__device__ void axpy(float alpha, const X* __restrict__ x, Y* __restrict__ y, int64_t n) {
    constexpr int N = pack_size<X, Y>();
    for_each_pack<N>(n, aligned(x, N * sizeof(X)) && aligned(y, N * sizeof(Y)),
        [&](int64_t i0) {
            Pack<X, N> a = load_pack<N>(x + i0);
            Pack<Y, N> b = load_pack<N>(y + i0);
#pragma unroll
            for (int j = 0; j < N; j++) b.v[j] = from_f32<Y>(fmaf(alpha, to_f32(a.v[j]), to_f32(b.v[j])));
            store_pack<N>(y + i0, b);
        },
        [&](int64_t i) { y[i] = from_f32<Y>(fmaf(alpha, to_f32(x[i]), to_f32(y[i]))); });
}

template <class T>
__device__ void scale(T* __restrict__ t, int64_t n, float alpha) {
    constexpr int N = pack_size<T, T>();
    for_each_pack<N>(n, aligned(t, 16),
        [&](int64_t i0) {
            Pack<T, N> p = load_pack<N>(t + i0);
#pragma unroll
            for (int j = 0; j < N; j++) p.v[j] = from_f32<T>(alpha * to_f32(p.v[j]));
            store_pack<N>(t + i0, p);
        },
        [&](int64_t i) { t[i] = from_f32<T>(alpha * to_f32(t[i])); });
}

template <class T>
__device__ void fill(T* __restrict__ t, int64_t n, T value) {
    constexpr int N = pack_size<T, T>();
    Pack<T, N> p;
#pragma unroll
    for (int j = 0; j < N; j++) p.v[j] = value;
    for_each_pack<N>(n, aligned(t, 16), [&](int64_t i0) { store_pack<N>(t + i0, p); }, [&](int64_t i) { t[i] = value; });
}

// Pass 1: partials[blockIdx.x] = sum of squares of the elements this block visits.
template <class T>
__device__ void sum_of_squares_partial(const T* __restrict__ t, int64_t n, double* __restrict__ partials) {
    __shared__ double scratch[32];
    constexpr int N = pack_size<T, T>();
    double acc = 0;
    for_each_pack<N>(n, aligned(t, 16),
        [&](int64_t i0) {
            Pack<T, N> p = load_pack<N>(t + i0);
            double s = 0;
#pragma unroll
            for (int j = 0; j < N; j++) s += (double)to_f32(p.v[j]) * to_f32(p.v[j]);
            acc += s;
        },
        [&](int64_t i) { double v = to_f32(t[i]); acc += v * v; });
    acc = block_sum(acc, scratch);
    if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

#define CONVERT(sn, S, dn, D) \
    extern "C" __global__ void longbow_convert_##sn##_##dn(const S* src, D* dst, int64_t n) { convert(src, dst, n); }
LONGBOW_FOR_FLOAT_TYPE_PAIRS(CONVERT)

#define AXPY(xn, X, yn, Y) \
    extern "C" __global__ void longbow_axpy_##xn##_##yn(float alpha, const X* x, Y* y, int64_t n) { axpy(alpha, x, y, n); }
LONGBOW_FOR_FLOAT_TYPE_PAIRS(AXPY)

#define PER_TYPE(tn, T)                                                                                      \
    extern "C" __global__ void longbow_fill_##tn(T* t, int64_t n, float value) { fill(t, n, from_f32<T>(value)); } \
    extern "C" __global__ void longbow_scale_##tn(T* t, int64_t n, float alpha) { scale(t, n, alpha); }       \
    extern "C" __global__ void longbow_sum_of_squares_partial_##tn(const T* t, int64_t n, double* partials) { \
        sum_of_squares_partial(t, n, partials);                                                              \
    }
LONGBOW_FOR_FLOAT_TYPES(PER_TYPE)

// I32 fill truncates toward zero, as a Java (int) cast does.
extern "C" __global__ void longbow_fill_i32(int32_t* t, int64_t n, float value) { fill(t, n, (int32_t)value); }

// Pass 2, one block: *result = sum of partials[0 .. count).
extern "C" __global__ void longbow_sum_partials_f64(const double* partials, int count, double* result) {
    __shared__ double scratch[32];
    double acc = 0;
    for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partials[i];
    acc = block_sum(acc, scratch);
    if (threadIdx.x == 0) *result = acc;
}
