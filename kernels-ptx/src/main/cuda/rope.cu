// rope.cu: rotary position embedding in place (ModelOps.rope), "rotate half" (HF Llama).
//
// For x [S, H, D] and pairs (i, i + D/2), i < D/2, token s at position p = positions[s]:
//   angle = p * theta^(-2i/D);  (x_i, x_{i+D/2}) <- (x_i cos - x_{i+D/2} sin, x_{i+D/2} cos + x_i sin)
// and the inverse (backward) rotates by -angle. One thread per (s, i), looping over the H heads,
// so each cos/sin is computed once per token and frequency, not once per head; consecutive
// threads take consecutive i, so every load and store is coalesced.
// Precision: positions reach millions, where an fp32 angle is off by a tenth of a radian. The
// angle is formed and reduced modulo 2 pi in fp64 and only then handed to sincosf, so the
// rotation is fp32-accurate at any position (HF computes the angle in fp32; at 64K tokens the
// difference is ~4e-3 rad).
// Reference: Su et al., "RoFormer" (2021); transformers' rotate_half.
// Measured: not yet (written without a GPU).
#include "common.cuh"

template <class T>
__device__ void rope(T* __restrict__ x, const int32_t* __restrict__ positions, int64_t tokens, int heads, int d,
                     float theta, bool inverse) {
    int half = d / 2;
    double log_theta = log((double)theta);
    for_each_index(tokens * half, [&](int64_t k) {
        int64_t s = k / half;
        int i = (int)(k - s * half);
        double angle = positions[s] * exp(-2.0 * i / d * log_theta);
        angle -= 2.0 * M_PI * rint(angle / (2.0 * M_PI));
        float sn, cs;
        sincosf((float)angle, &sn, &cs);
        if (inverse) sn = -sn;
        T* row = x + s * heads * d;
        for (int h = 0; h < heads; h++, row += d) {
            float a = to_f32(row[i]), b = to_f32(row[i + half]);
            row[i] = from_f32<T>(a * cs - b * sn);
            row[i + half] = from_f32<T>(b * cs + a * sn);
        }
    });
}

#define ROPE(tn, T)                                                                                        \
    extern "C" __global__ void longbow_rope_##tn(T* x, const int32_t* positions, int64_t tokens, int heads,  \
                                                 int d, float theta, int inverse) {                         \
        rope(x, positions, tokens, heads, d, theta, inverse != 0);                                         \
    }
LONGBOW_FOR_FLOAT_TYPES(ROPE)
