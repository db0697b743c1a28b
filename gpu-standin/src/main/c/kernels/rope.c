// rope.c: the CPU reading of rope.cu (rotary position embedding in place, "rotate half").
//
// Grid-stride over (token, frequency) pairs, each rotating its pair of elements in every head,
// so any grid covers everything. The angle is formed and reduced modulo 2 pi in fp64, then
// rotated in fp32, as the .cu does. An odd d leaves each row's last element untouched.
#include "kernel.h"

static int rope(si_launch *l, si_float_type t) {
    int64_t tokens = si_param_i64(l, 2);
    int heads = si_param_i32(l, 3), d = si_param_i32(l, 4), inverse = si_param_i32(l, 6);
    float theta = si_param_f32(l, 5);
    if (si_require_dims(l, 1)) return l->error;
    int half = d / 2;
    int64_t touched = half > 0 ? si_count(si_count(tokens, heads), d) - d % 2 : 0;  // through the last row's x[2 half - 1]
    void *x = si_kernel_output_array(l, si_param_ptr(l, 0), touched, si_float_size(t));  // rotated in place
    const int32_t *positions = si_kernel_input_array(l, si_param_ptr(l, 1), half > 0 ? tokens : 0, 4);
    if (!x || !positions) return l->error;
    double log_theta = log((double)theta);
    for (int64_t s = 0; s < tokens; s++) {
        for (int i = 0; i < half; i++) {
            double angle = positions[s] * exp(-2.0 * i / d * log_theta);
            angle -= 2.0 * M_PI * rint(angle / (2.0 * M_PI));
            float sn = sinf((float)angle), cs = cosf((float)angle);
            if (inverse) sn = -sn;
            for (int64_t h = 0, row = s * heads * d; h < heads; h++, row += d) {
                float a = si_load(t, x, row + i), b = si_load(t, x, row + i + half);
                si_store(t, x, row + i, a * cs - b * sn);
                si_store(t, x, row + i + half, b * cs + a * sn);
            }
        }
    }
    return 0;
}

#define TYPE(tn, T) static int rope_##tn(si_launch *l) { return rope(l, T); }
SI_FOR_FLOAT_TYPES(TYPE)

#define TYPE_ENTRIES(tn, T) {"longbow_rope_" #tn, "ppliifi", rope_##tn},

const si_kernel si_kernels_rope[] = {
    SI_FOR_FLOAT_TYPES(TYPE_ENTRIES)
    {NULL, NULL, NULL},
};
