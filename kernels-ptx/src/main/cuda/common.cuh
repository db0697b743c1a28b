// common.cuh: what every Longbow kernel file shares.
//
// Storage types are float, __nv_bfloat16 and __half; arithmetic is always fp32. Entry points are
// extern "C" with the storage types in their names (f32, bf16, f16, i32), so the Java side finds
// them without C++ name mangling: longbow_<op>_<types>.
//
// Sizes and indices are 64-bit (a 64K-token sequence with 32 heads of 128 already has 2^28
// elements per tensor, and products of extents overflow 32 bits long before memory runs out).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

typedef __nv_bfloat16 bf16;
typedef __half f16;

__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(bf16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float to_f32(f16 x) { return __half2float(x); }

// Round to nearest even, as the SPI's convert asks.
template <class T> __device__ __forceinline__ T from_f32(float x);
template <> __device__ __forceinline__ float from_f32<float>(float x) { return x; }
template <> __device__ __forceinline__ bf16 from_f32<bf16>(float x) { return __float2bfloat16_rn(x); }
template <> __device__ __forceinline__ f16 from_f32<f16>(float x) { return __float2half_rn(x); }

// A thread's index in a 1-D grid and the grid's size, 64-bit.
__device__ __forceinline__ int64_t global_thread() { return (int64_t)blockIdx.x * blockDim.x + threadIdx.x; }
__device__ __forceinline__ int64_t grid_threads() { return (int64_t)gridDim.x * blockDim.x; }

// N elements of T moved as one word (N * sizeof(T) = 2, 4, 8 or 16 bytes): the unit of the
// vectorised loads and stores of memory-bound kernels. The default N fills 16 bytes.
template <int Bytes> struct Word;
template <> struct Word<2> { typedef uint16_t type; };
template <> struct Word<4> { typedef uint32_t type; };
template <> struct Word<8> { typedef uint2 type; };
template <> struct Word<16> { typedef uint4 type; };

template <class T, int N = 16 / sizeof(T)> struct alignas(sizeof(T) * N) Pack {
    static constexpr int size = N;
    typedef typename Word<sizeof(T) * N>::type word;
    T v[N];
};

template <int N, class T> __device__ __forceinline__ Pack<T, N> load_pack(const T* p) {
    Pack<T, N> r;
    *reinterpret_cast<typename Pack<T, N>::word*>(&r) = *reinterpret_cast<const typename Pack<T, N>::word*>(p);
    return r;
}

template <int N, class T> __device__ __forceinline__ void store_pack(T* p, const Pack<T, N>& r) {
    *reinterpret_cast<typename Pack<T, N>::word*>(p) = *reinterpret_cast<const typename Pack<T, N>::word*>(&r);
}

// Elements per step when streams of A and B move together: as many as fill 16 bytes of the wider.
template <class A, class B> __host__ __device__ constexpr int pack_size() {
    return sizeof(A) > sizeof(B) ? 16 / sizeof(A) : 16 / sizeof(B);
}

__device__ __forceinline__ bool aligned(const void* p, int bytes) { return ((uintptr_t)p & (bytes - 1)) == 0; }

// Calls f(i) for every element index i < n. Grid-stride, so any grid covers any n.
template <class F> __device__ __forceinline__ void for_each_index(int64_t n, F f) {
    for (int64_t i = global_thread(); i < n; i += grid_threads()) f(i);
}

// Splits [0, n) into steps of N elements, handed to pack(i0) with i0 the step's first element,
// and a tail of single elements, handed to scalar(i). `vectorised` false (some pointer not
// aligned to its pack) sends everything through scalar.
template <int N, class FP, class FS>
__device__ __forceinline__ void for_each_pack(int64_t n, bool vectorised, FP pack, FS scalar) {
    int64_t packs = vectorised ? n / N : 0;
    for (int64_t p = global_thread(); p < packs; p += grid_threads()) pack(p * N);
    for (int64_t i = packs * N + global_thread(); i < n; i += grid_threads()) scalar(i);
}

// Block-per-row kernels: the block's threads stride over a row of d elements, in steps of N
// (pack(j0)) when `vectorised` (the caller checks d % N == 0 and alignment), else one by one
// (scalar(j)). A thread owns the same columns in every row, which lets kernels keep
// per-column partial sums without atomics.
template <int N, class FP, class FS>
__device__ __forceinline__ void for_each_in_row(int64_t d, bool vectorised, FP pack, FS scalar) {
    if (vectorised) {
        for (int64_t j = (int64_t)threadIdx.x * N; j < d; j += (int64_t)blockDim.x * N) pack(j);
    } else {
        for (int64_t j = threadIdx.x; j < d; j += blockDim.x) scalar(j);
    }
}

__device__ __forceinline__ float warp_sum(float x) {
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
    return x;
}

__device__ __forceinline__ double warp_sum(double x) {
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
    return x;
}

__device__ __forceinline__ float warp_max(float x) {
    for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
    return x;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
// `scratch` holds 32 values; the block may call this again right after it returns.
template <class V> __device__ __forceinline__ V block_sum(V x, V* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    x = warp_sum(x);
    __syncthreads();  // a previous call's readers are done with scratch
    if (lane == 0) scratch[warp] = x;
    __syncthreads();
    x = lane < warps ? scratch[lane] : V(0);
    return warp_sum(x);
}

__device__ __forceinline__ float block_max(float x, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    x = warp_max(x);
    __syncthreads();
    if (lane == 0) scratch[warp] = x;
    __syncthreads();
    x = lane < warps ? scratch[lane] : -INFINITY;
    return warp_max(x);
}

// Instantiation helpers: one extern "C" entry per storage type.
#define LONGBOW_FOR_FLOAT_TYPES(X) X(f32, float) X(bf16, bf16) X(f16, f16)
#define LONGBOW_FOR_FLOAT_TYPE_PAIRS(X)                                  \
    X(f32, float, f32, float) X(f32, float, bf16, bf16) X(f32, float, f16, f16) \
    X(bf16, bf16, f32, float) X(bf16, bf16, bf16, bf16) X(bf16, bf16, f16, f16) \
    X(f16, f16, f32, float) X(f16, f16, bf16, bf16) X(f16, f16, f16, f16)
