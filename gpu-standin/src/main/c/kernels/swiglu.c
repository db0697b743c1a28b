// swiglu.c: the CPU reading of swiglu.cu (the SwiGLU gate, forward and backward).
//
// Elementwise grid-stride loops: any grid covers all n elements; the .cu's 16-byte packs are
// used only where the pointers allow, so only the element alignment is required.
#include "kernel.h"

static float sigmoid(float g) { return 1.f / (1.f + expf(-g)); }

// out = g sigmoid(g) u
static int swiglu_forward(si_launch *l, si_float_type t) {
    int64_t n = si_param_i64(l, 3);
    if (si_require_dims(l, 1)) return l->error;
    uint64_t size = si_float_size(t);
    const void *gate = si_kernel_input_array(l, si_param_ptr(l, 0), n, size);
    const void *up = si_kernel_input_array(l, si_param_ptr(l, 1), n, size);
    void *out = si_kernel_output_array(l, si_param_ptr(l, 2), n, size);
    if (!gate || !up || !out) return l->error;
    for (int64_t i = 0; i < n; i++) {
        float g = si_load(t, gate, i);
        si_store(t, out, i, g * sigmoid(g) * si_load(t, up, i));
    }
    return 0;
}

// dgate = dout u s (1 + g (1 - s)), dup = dout g s, s = sigmoid(g)
static int swiglu_backward(si_launch *l, si_float_type t) {
    int64_t n = si_param_i64(l, 5);
    if (si_require_dims(l, 1)) return l->error;
    uint64_t size = si_float_size(t);
    const void *gate = si_kernel_input_array(l, si_param_ptr(l, 0), n, size);
    const void *up = si_kernel_input_array(l, si_param_ptr(l, 1), n, size);
    const void *dout = si_kernel_input_array(l, si_param_ptr(l, 2), n, size);
    void *dgate = si_kernel_output_array(l, si_param_ptr(l, 3), n, size);
    void *dup = si_kernel_output_array(l, si_param_ptr(l, 4), n, size);
    if (!gate || !up || !dout || !dgate || !dup) return l->error;
    for (int64_t i = 0; i < n; i++) {
        float g = si_load(t, gate, i), u = si_load(t, up, i), d = si_load(t, dout, i);
        float s = sigmoid(g);
        si_store(t, dgate, i, d * u * s * (1.f + g * (1.f - s)));
        si_store(t, dup, i, d * g * s);
    }
    return 0;
}

#define TYPE(tn, T)                                                                \
    static int swiglu_forward_##tn(si_launch *l) { return swiglu_forward(l, T); } \
    static int swiglu_backward_##tn(si_launch *l) { return swiglu_backward(l, T); }
SI_FOR_FLOAT_TYPES(TYPE)

#define TYPE_ENTRIES(tn, T)                                            \
    {"longbow_swiglu_forward_" #tn, "pppl", swiglu_forward_##tn},      \
    {"longbow_swiglu_backward_" #tn, "pppppl", swiglu_backward_##tn},

const si_kernel si_kernels_swiglu[] = {
    SI_FOR_FLOAT_TYPES(TYPE_ENTRIES)
    {NULL, NULL, NULL},
};
