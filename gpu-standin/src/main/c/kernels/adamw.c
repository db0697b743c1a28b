// adamw.c: the CPU reading of adamw.cu (one fused AdamW step, torch.optim.AdamW's update).
//
// An elementwise grid-stride loop: any grid covers all n elements; the .cu's 4-element packs
// are used only where the pointers allow, so only the element alignment is required.
#include "kernel.h"

static int adamw(si_launch *l, si_float_type gt) {
    int64_t n = si_param_i64(l, 4);
    float lr = si_param_f32(l, 5), b1 = si_param_f32(l, 6), b2 = si_param_f32(l, 7), eps = si_param_f32(l, 8);
    float wd = si_param_f32(l, 9), bc1 = si_param_f32(l, 10), bc2 = si_param_f32(l, 11);
    if (si_require_dims(l, 1)) return l->error;
    // param, m and v are updated in place.
    float *param = si_kernel_output_array(l, si_param_ptr(l, 0), n, 4);
    const void *grad = si_kernel_input_array(l, si_param_ptr(l, 1), n, si_float_size(gt));
    float *m = si_kernel_output_array(l, si_param_ptr(l, 2), n, 4);
    float *v = si_kernel_output_array(l, si_param_ptr(l, 3), n, 4);
    if (!param || !grad || !m || !v) return l->error;
    for (int64_t i = 0; i < n; i++) {
        float g = si_load(gt, grad, i);
        m[i] = b1 * m[i] + (1.f - b1) * g;
        v[i] = b2 * v[i] + (1.f - b2) * g * g;
        param[i] = param[i] * (1.f - lr * wd) - lr * (m[i] / bc1) / (sqrtf(v[i] / bc2) + eps);
    }
    return 0;
}

#define TYPE(tn, T) static int adamw_##tn(si_launch *l) { return adamw(l, T); }
SI_FOR_FLOAT_TYPES(TYPE)

#define TYPE_ENTRIES(tn, T) {"longbow_adamw_" #tn, "pppplfffffff", adamw_##tn},

const si_kernel si_kernels_adamw[] = {
    SI_FOR_FLOAT_TYPES(TYPE_ENTRIES)
    {NULL, NULL, NULL},
};
