// cross_entropy.cu: softmax cross-entropy with the gradient written over the logits
// (ModelOps.crossEntropy), so a chunk of logits [R, V] is never held twice.
//
// One block per row, two passes over the row:
//   1. online max and sum of exponentials (each thread rescales its running sum when its max
//      grows; the block then combines the (max, sum) pairs): lse = max + log(sum), one read;
//   2. logits[j] <- gradScale (e^(logits[j] - lse) - [j == target]), one read and one write.
// loss = lse - logits[target]; thread 0 reads logits[target] before the block reductions of
// pass 1, whose barriers order that read before any pass-2 write. A target of -1 masks the row (loss
// 0, gradient 0); any other target outside [0, V) gives loss NaN and a NaN gradient, since a
// kernel cannot throw. A NaN logit anywhere in a row makes its loss and gradient NaN: each thread
// flags the NaNs it meets, because its online max would skip one met before any other value
// (NaN > m is false) and fmaxf in the block's max drops it.
// Reference: Milakov & Gimelshein, "Online normalizer calculation for softmax" (2018); llm.c's
// fused classifier.
// Measured: not yet (written without a GPU).
#include "common.cuh"

template <class T>
__device__ void cross_entropy(T* __restrict__ logits, const int32_t* __restrict__ targets, float* __restrict__ losses,
                              int64_t rows, int64_t vocab, float grad_scale) {
    __shared__ float scratch[32];
    constexpr int N = pack_size<T, T>();
    bool vec = vocab % N == 0 && aligned(logits, 16);
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        T* x = logits + r * vocab;
        int32_t target = targets[r];
        if (target == -1) {
            for_each_in_row<N>(vocab, vec, [&](int64_t j) {
                Pack<T, N> z;
#pragma unroll
                for (int k = 0; k < N; k++) z.v[k] = from_f32<T>(0.f);
                store_pack<N>(x + j, z);
            }, [&](int64_t j) { x[j] = from_f32<T>(0.f); });
            if (threadIdx.x == 0) losses[r] = 0.f;
            continue;
        }
        bool valid = target >= 0 && target < vocab;
        float target_logit = threadIdx.x == 0 && valid ? to_f32(x[target]) : NAN;  // used by thread 0 only

        float m = -INFINITY, s = 0.f;
        bool saw_nan = false;
        auto add = [&](float v) {  // -inf logits (masked vocabulary) add nothing
            if (isnan(v)) saw_nan = true;
            else if (v > m) { s = s * expf(m - v) + 1.f; m = v; }
            else if (m != -INFINITY) s += expf(v - m);
        };
        for_each_in_row<N>(vocab, vec,
            [&](int64_t j) {
                Pack<T, N> p = load_pack<N>(x + j);
#pragma unroll
                for (int k = 0; k < N; k++) add(to_f32(p.v[k]));
            },
            [&](int64_t j) { add(to_f32(x[j])); });
        float row_max = block_max(m, scratch);
        float sum = block_sum(saw_nan ? NAN : m == -INFINITY ? 0.f : s * expf(m - row_max), scratch);
        float lse = row_max + logf(sum);
        if (threadIdx.x == 0) losses[r] = lse - target_logit;

        float poison = valid ? 0.f : NAN;
        auto grad = [&](float v, int64_t j) { return from_f32<T>(grad_scale * (expf(v - lse) - (j == target)) + poison); };
        for_each_in_row<N>(vocab, vec,
            [&](int64_t j) {
                Pack<T, N> p = load_pack<N>(x + j);
#pragma unroll
                for (int k = 0; k < N; k++) p.v[k] = grad(to_f32(p.v[k]), j + k);
                store_pack<N>(x + j, p);
            },
            [&](int64_t j) { x[j] = grad(to_f32(x[j]), j); });
    }
}

#define CROSS_ENTROPY(tn, T)                                                                               \
    extern "C" __global__ void longbow_cross_entropy_##tn(T* logits, const int32_t* targets, float* losses,  \
                                                          int64_t rows, int64_t vocab, float grad_scale) { \
        cross_entropy(logits, targets, losses, rows, vocab, grad_scale);                                   \
    }
LONGBOW_FOR_FLOAT_TYPES(CROSS_ENTROPY)
