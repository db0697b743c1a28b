// layout.cu: the sequence<->head packing around Ulysses' all-to-all (TensorOps.swapLeadingDims),
// the GQA head expansion (repeatHeads) with its adjoint (sumRepeatedHeads), and the row copy
// that pads head dims the flash kernels lack with zeros and crops them back (copyRows).
//
// Algorithm: each moves whole rows (the innermost dimensions after the ones that permute).
// A block is blockDim.y rows of blockDim.x threads; each row is copied in the widest word
// (2, 4, 8 or 16 bytes) that divides the row and the pointers' alignment, which the host picks,
// so one entry per word size serves every dtype. A row's source is found with one division per
// row, not per element:
//   swap  [A, B, row] -> [B, A, row]: destination row j = b*A + a comes from source row a*B + b;
//   repeat [S, H, row] -> [S, H*r, row]: destination row j comes from source row j / r
//          (s*H*r + h' over r is s*H + h'/r);
//   sum   [S, H*r, D] -> [S, H, D]: destination row j is the fp32 sum of source rows j*r .. j*r+r-1;
//   copy  [R, src_words] -> [R, dst_words]: row j keeps its first min(src, dst) words, and words
//          past src_words are zero (all-zero bits: 0.0 in every float type), so a [S, H, 16] bf16
//          tensor becomes the [S, H, 64] one a D=64 flash kernel takes, and its fp32 gradient
//          [S, H, 64] comes back as [S, H, 16] (CudaAttention).
// Roofline: copy bandwidth; rows of a few hundred bytes or more keep every access coalesced.
// Measured: not yet (written without a GPU).
#include "common.cuh"

template <class W, class SourceRow>
__device__ void copy_rows(const W* __restrict__ src, W* __restrict__ dst, int64_t rows, int64_t words, SourceRow source_row) {
    for (int64_t row = (int64_t)blockIdx.x * blockDim.y + threadIdx.y; row < rows; row += (int64_t)gridDim.x * blockDim.y) {
        const W* from = src + source_row(row) * words;
        W* to = dst + row * words;
        for (int64_t w = threadIdx.x; w < words; w += blockDim.x) to[w] = from[w];
    }
}

#define PER_WORD(wn, W)                                                                                    \
    extern "C" __global__ void longbow_swap_leading_dims_##wn(const W* src, W* dst, int64_t a, int64_t b,   \
                                                              int64_t words) {                             \
        copy_rows(src, dst, a * b, words, [=](int64_t j) { int64_t bi = j / a; return (j - bi * a) * b + bi; }); \
    }                                                                                                      \
    extern "C" __global__ void longbow_repeat_heads_##wn(const W* src, W* dst, int64_t dst_rows, int64_t repeats, \
                                                         int64_t words) {                                  \
        copy_rows(src, dst, dst_rows, words, [=](int64_t j) { return j / repeats; });                       \
    }
PER_WORD(w2, uint16_t) PER_WORD(w4, uint32_t) PER_WORD(w8, uint2) PER_WORD(w16, uint4)

template <class W>
__device__ void copy_rows_resized(const W* __restrict__ src, W* __restrict__ dst, int64_t rows, int64_t src_words,
                                  int64_t dst_words) {
    for (int64_t row = (int64_t)blockIdx.x * blockDim.y + threadIdx.y; row < rows; row += (int64_t)gridDim.x * blockDim.y) {
        const W* from = src + row * src_words;
        W* to = dst + row * dst_words;
        for (int64_t w = threadIdx.x; w < dst_words; w += blockDim.x) to[w] = w < src_words ? from[w] : W{};
    }
}

#define COPY_ROWS(wn, W)                                                                                   \
    extern "C" __global__ void longbow_copy_rows_##wn(const W* src, W* dst, int64_t rows, int64_t src_words, \
                                                      int64_t dst_words) {                                 \
        copy_rows_resized(src, dst, rows, src_words, dst_words);                                           \
    }
COPY_ROWS(w2, uint16_t) COPY_ROWS(w4, uint32_t) COPY_ROWS(w8, uint2) COPY_ROWS(w16, uint4)

template <class T, int N>
__device__ void sum_rows(const T* __restrict__ src, T* __restrict__ dst, int64_t rows, int64_t repeats, int64_t d) {
    int64_t packs = d / N;
    for (int64_t row = (int64_t)blockIdx.x * blockDim.y + threadIdx.y; row < rows; row += (int64_t)gridDim.x * blockDim.y) {
        const T* from = src + row * repeats * d;
        for (int64_t p = threadIdx.x; p < packs; p += blockDim.x) {
            float acc[N] = {};
            for (int64_t r = 0; r < repeats; r++) {
                Pack<T, N> x = load_pack<N>(from + r * d + p * N);
#pragma unroll
                for (int j = 0; j < N; j++) acc[j] += to_f32(x.v[j]);
            }
            Pack<T, N> y;
#pragma unroll
            for (int j = 0; j < N; j++) y.v[j] = from_f32<T>(acc[j]);
            store_pack<N>(dst + row * d + p * N, y);
        }
    }
}

// dst [rows, d] = sum over r < repeats of src [rows, repeats, d]; 16-byte packs when d and the
// pointers allow, else single elements.
#define SUM_REPEATED(tn, T)                                                                                 \
    extern "C" __global__ void longbow_sum_repeated_heads_##tn(const T* src, T* dst, int64_t rows, int64_t repeats, \
                                                               int64_t d) {                                \
        constexpr int N = pack_size<T, T>();                                                                \
        if (d % N == 0 && aligned(src, 16) && aligned(dst, 16)) sum_rows<T, N>(src, dst, rows, repeats, d);  \
        else sum_rows<T, 1>(src, dst, rows, repeats, d);                                                    \
    }
LONGBOW_FOR_FLOAT_TYPES(SUM_REPEATED)
