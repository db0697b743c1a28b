// merge.cu: folds a partial attention result into a running one through their log-sum-exps
// (AttentionOps.merge), the step that makes Ring, WallFacer and Hybrid attention exact.
//
// Algorithm: for each row (token s, head h)
//   lse' = max + log(e^(lse-max) + e^(part-max)),   out' = out e^(lse-lse') + partOut e^(part-lse'),
// with a row whose lse is -inf weighing 0 (it saw no key); two -inf rows give lse' = -inf, out' = 0.
// One warp per row: every lane reads both log-sum-exps, scales its D/32 elements, and lane 0
// writes lse' after a __syncwarp, so no lane reads an lse another lane already overwrote.
// Reference: Milakov & Gimelshein, "Online normalizer calculation for softmax" (2018); the
// merge of Ring Attention (Liu et al. 2023) and flash-attention's split-KV combine.
// Measured: not yet (written without a GPU).
#include "common.cuh"

template <class P>
__device__ void merge(float* __restrict__ out, float* __restrict__ lse, const P* __restrict__ part_out,
                      const float* __restrict__ part_lse, int64_t rows, int d) {
    int lane = threadIdx.x & 31;
    int64_t warp = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5, warps = grid_threads() >> 5;
    for (int64_t row = warp; row < rows; row += warps) {
        float a = lse[row], b = part_lse[row];
        float m = fmaxf(a, b);
        float merged = m == -INFINITY ? -INFINITY : m + logf(expf(a - m) + expf(b - m));
        float wa = a == -INFINITY ? 0.f : expf(a - merged);
        float wb = b == -INFINITY ? 0.f : expf(b - merged);
        float* o = out + row * d;
        const P* p = part_out + row * d;
        // A weight of 0 never multiplies its operand: a masked row's output may be anything.
        for (int i = lane; i < d; i += 32) o[i] = (wa == 0.f ? 0.f : wa * o[i]) + (wb == 0.f ? 0.f : wb * to_f32(p[i]));
        __syncwarp();
        if (lane == 0) lse[row] = merged;
    }
}

#define MERGE(tn, T)                                                                                       \
    extern "C" __global__ void longbow_attention_merge_##tn(float* out, float* lse, const T* part_out,      \
                                                            const float* part_lse, int64_t rows, int d) {  \
        merge(out, lse, part_out, part_lse, rows, d);                                                      \
    }
LONGBOW_FOR_FLOAT_TYPES(MERGE)
