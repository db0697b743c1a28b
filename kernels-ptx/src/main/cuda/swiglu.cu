// swiglu.cu: the SwiGLU gate of the MLP (ModelOps.swigluForward/Backward).
//
// out = silu(g) u with silu(g) = g sigmoid(g). Backward from dout, with s = sigmoid(g):
//   dg = dout u s (1 + g (1 - s)),   du = dout silu(g)
// both in one pass over (g, u, dout): five streams of memory, nothing recomputed later.
// Elementwise, 16-byte packs when the pointers allow.
// Reference: Shazeer, "GLU Variants Improve Transformer" (2020).
// Measured: not yet (written without a GPU).
#include "common.cuh"

__device__ __forceinline__ float sigmoid(float g) { return 1.f / (1.f + expf(-g)); }

template <class T>
__device__ void swiglu_forward(const T* __restrict__ gate, const T* __restrict__ up, T* __restrict__ out, int64_t n) {
    constexpr int N = pack_size<T, T>();
    auto one = [](float g, float u) { return g * sigmoid(g) * u; };
    for_each_pack<N>(n, aligned(gate, 16) && aligned(up, 16) && aligned(out, 16),
        [&](int64_t i0) {
            Pack<T, N> g = load_pack<N>(gate + i0), u = load_pack<N>(up + i0), o;
#pragma unroll
            for (int k = 0; k < N; k++) o.v[k] = from_f32<T>(one(to_f32(g.v[k]), to_f32(u.v[k])));
            store_pack<N>(out + i0, o);
        },
        [&](int64_t i) { out[i] = from_f32<T>(one(to_f32(gate[i]), to_f32(up[i]))); });
}

template <class T>
__device__ void swiglu_backward(const T* __restrict__ gate, const T* __restrict__ up, const T* __restrict__ dout,
                                T* __restrict__ dgate, T* __restrict__ dup, int64_t n) {
    constexpr int N = pack_size<T, T>();
    auto one = [](float g, float u, float d, T& dg, T& du) {
        float s = sigmoid(g);
        dg = from_f32<T>(d * u * s * (1.f + g * (1.f - s)));
        du = from_f32<T>(d * g * s);
    };
    bool vec = aligned(gate, 16) && aligned(up, 16) && aligned(dout, 16) && aligned(dgate, 16) && aligned(dup, 16);
    for_each_pack<N>(n, vec,
        [&](int64_t i0) {
            Pack<T, N> g = load_pack<N>(gate + i0), u = load_pack<N>(up + i0), d = load_pack<N>(dout + i0), dg, du;
#pragma unroll
            for (int k = 0; k < N; k++) one(to_f32(g.v[k]), to_f32(u.v[k]), to_f32(d.v[k]), dg.v[k], du.v[k]);
            store_pack<N>(dgate + i0, dg);
            store_pack<N>(dup + i0, du);
        },
        [&](int64_t i) { one(to_f32(gate[i]), to_f32(up[i]), to_f32(dout[i]), dgate[i], dup[i]); });
}

#define SWIGLU(tn, T)                                                                                      \
    extern "C" __global__ void longbow_swiglu_forward_##tn(const T* gate, const T* up, T* out, int64_t n) { \
        swiglu_forward(gate, up, out, n);                                                                  \
    }                                                                                                      \
    extern "C" __global__ void longbow_swiglu_backward_##tn(const T* gate, const T* up, const T* dout, T* dgate, \
                                                            T* dup, int64_t n) {                           \
        swiglu_backward(gate, up, dout, dgate, dup, n);                                                    \
    }
LONGBOW_FOR_FLOAT_TYPES(SWIGLU)
