// adamw.cu: one fused AdamW step (ModelOps.adamw): param, grad, m and v each read once and the
// three state tensors written once, 16-byte packs when the pointers allow.
//
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p = p (1 - lr wd) - lr (m / bc1) / (sqrt(v / bc2) + eps),  bc1 = 1 - b1^t, bc2 = 1 - b2^t
// as torch.optim.AdamW (decoupled decay applied to the pre-update parameter). The bias
// corrections are computed on the host in double and passed in.
// Reference: Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (2019).
// Measured: not yet (written without a GPU).
#include "common.cuh"

struct AdamW {
    float lr, b1, b2, eps, wd, bc1, bc2;

    __device__ __forceinline__ void step(float& p, float g, float& m, float& v) const {
        m = b1 * m + (1.f - b1) * g;
        v = b2 * v + (1.f - b2) * g * g;
        p = p * (1.f - lr * wd) - lr * (m / bc1) / (sqrtf(v / bc2) + eps);
    }
};

template <class G>
__device__ void adamw(float* __restrict__ param, const G* __restrict__ grad, float* __restrict__ m, float* __restrict__ v,
                      int64_t n, AdamW opt) {
    constexpr int N = 4;
    bool vec = aligned(param, 16) && aligned(grad, N * sizeof(G)) && aligned(m, 16) && aligned(v, 16);
    for_each_pack<N>(n, vec,
        [&](int64_t i0) {
            Pack<float, N> p = load_pack<N>(param + i0), mm = load_pack<N>(m + i0), vv = load_pack<N>(v + i0);
            Pack<G, N> g = load_pack<N>(grad + i0);
#pragma unroll
            for (int k = 0; k < N; k++) opt.step(p.v[k], to_f32(g.v[k]), mm.v[k], vv.v[k]);
            store_pack<N>(param + i0, p);
            store_pack<N>(m + i0, mm);
            store_pack<N>(v + i0, vv);
        },
        [&](int64_t i) { opt.step(param[i], to_f32(grad[i]), m[i], v[i]); });
}

#define ADAMW(gn, G)                                                                                       \
    extern "C" __global__ void longbow_adamw_##gn(float* param, const G* grad, float* m, float* v, int64_t n,  \
                                                  float lr, float b1, float b2, float eps, float wd, float bc1, \
                                                  float bc2) {                                             \
        adamw(param, grad, m, v, n, AdamW{lr, b1, b2, eps, wd, bc1, bc2});                                 \
    }
LONGBOW_FOR_FLOAT_TYPES(ADAMW)
