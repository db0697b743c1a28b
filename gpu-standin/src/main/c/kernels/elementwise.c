// elementwise.c: the CPU reading of elementwise.cu (convert, fill, axpy, scale, sum of squares).
//
// Every kernel is a grid-stride loop, so any grid covers all n elements. The .cu's split into
// 16-byte packs and a scalar tail changes no result, and the packs are used only where the
// pointers allow, so only the element alignment is required. The exception is the sum of
// squares' pass 1, which writes one fp64 partial per block of the elements that block visits.
#include "kernel.h"

static int convert(si_launch *l, si_float_type s, si_float_type d) {
    int64_t n = si_param_i64(l, 2);
    if (si_require_dims(l, 1)) return l->error;
    const void *src = si_kernel_input_array(l, si_param_ptr(l, 0), n, si_float_size(s));
    void *dst = si_kernel_output_array(l, si_param_ptr(l, 1), n, si_float_size(d));
    if (!src || !dst) return l->error;
    for (int64_t i = 0; i < n; i++) si_store(d, dst, i, si_load(s, src, i));
    return 0;
}

static int axpy(si_launch *l, si_float_type xt, si_float_type yt) {
    float alpha = si_param_f32(l, 0);
    int64_t n = si_param_i64(l, 3);
    if (si_require_dims(l, 1)) return l->error;
    const void *x = si_kernel_input_array(l, si_param_ptr(l, 1), n, si_float_size(xt));
    void *y = si_kernel_output_array(l, si_param_ptr(l, 2), n, si_float_size(yt));  // y += alpha x
    if (!x || !y) return l->error;
    for (int64_t i = 0; i < n; i++) si_store(yt, y, i, fmaf(alpha, si_load(xt, x, i), si_load(yt, y, i)));
    return 0;
}

static int fill(si_launch *l, si_float_type t) {
    int64_t n = si_param_i64(l, 1);
    float value = si_param_f32(l, 2);
    if (si_require_dims(l, 1)) return l->error;
    void *p = si_kernel_output_array(l, si_param_ptr(l, 0), n, si_float_size(t));
    if (!p) return l->error;
    for (int64_t i = 0; i < n; i++) si_store(t, p, i, value);
    return 0;
}

// (int32_t)value on the GPU is cvt.rzi.s32.f32: truncation that saturates, NaN giving 0.
static int fill_i32(si_launch *l) {
    int64_t n = si_param_i64(l, 1);
    float value = si_param_f32(l, 2);
    if (si_require_dims(l, 1)) return l->error;
    int32_t *p = si_kernel_output_array(l, si_param_ptr(l, 0), n, 4);
    if (!p) return l->error;
    int32_t v = value != value ? 0 : value >= 0x1p31f ? INT32_MAX : value <= -0x1p31f ? INT32_MIN : (int32_t)value;
    for (int64_t i = 0; i < n; i++) p[i] = v;
    return 0;
}

static int scale(si_launch *l, si_float_type t) {
    int64_t n = si_param_i64(l, 1);
    float alpha = si_param_f32(l, 2);
    if (si_require_dims(l, 1)) return l->error;
    void *p = si_kernel_output_array(l, si_param_ptr(l, 0), n, si_float_size(t));  // scaled in place
    if (!p) return l->error;
    for (int64_t i = 0; i < n; i++) si_store(t, p, i, alpha * si_load(t, p, i));
    return 0;
}

static double squares(si_float_type t, const void *x, int64_t from, int64_t to) {
    double s = 0;
    for (int64_t i = from; i < to; i++) {
        double v = si_load(t, x, i);
        s += v * v;
    }
    return s;
}

// Pass 1: block b's threads take the packs of N = 16 / sizeof(T) elements b*B .. b*B + B - 1,
// then every G-th (G the grid's threads; no packs unless t is 16-byte aligned), then the scalar
// tail from packs * N on in the same pattern; partials[b] is their fp64 sum of squares, for
// every block of the grid.
static int sum_of_squares_partial(si_launch *l, si_float_type t) {
    int64_t n = si_param_i64(l, 1);
    if (si_require_dims(l, 1) || si_require_warps(l)) return l->error;
    uint64_t address = si_param_ptr(l, 0);
    const void *x = si_kernel_input_array(l, address, n, si_float_size(t));
    double *partials = si_kernel_output_array(l, si_param_ptr(l, 2), l->grid.x, 8);
    if (!x || !partials) return l->error;
    int64_t block = l->block.x, threads = (int64_t)l->grid.x * block, pack = 16 / (int64_t)si_float_size(t);
    int64_t packs = address % 16 == 0 && n > 0 ? n / pack : 0;
    for (int64_t b = 0; b < l->grid.x; b++) {
        double acc = 0;
        for (int64_t p = b * block; p < packs; p += threads) acc += squares(t, x, p * pack, (p + block < packs ? p + block : packs) * pack);
        for (int64_t i = packs * pack + b * block; i < n; i += threads) acc += squares(t, x, i, i + block < n ? i + block : n);
        partials[b] = acc;
    }
    return 0;
}

// Pass 2 (meant for one block; more would each write the same sum): *result = sum of partials.
static int sum_partials_f64(si_launch *l) {
    int count = si_param_i32(l, 1);
    if (si_require_dims(l, 1) || si_require_warps(l)) return l->error;
    const double *partials = si_kernel_input_array(l, si_param_ptr(l, 0), count, 8);
    double *result = si_kernel_output_array(l, si_param_ptr(l, 2), 1, 8);
    if (!partials || !result) return l->error;
    double acc = 0;
    for (int i = 0; i < count; i++) acc += partials[i];
    *result = acc;
    return 0;
}

#define PAIR(sn, S, dn, D)                                                      \
    static int convert_##sn##_##dn(si_launch *l) { return convert(l, S, D); } \
    static int axpy_##sn##_##dn(si_launch *l) { return axpy(l, S, D); }
SI_FOR_FLOAT_TYPE_PAIRS(PAIR)

#define TYPE(tn, T)                                                  \
    static int fill_##tn(si_launch *l) { return fill(l, T); }       \
    static int scale_##tn(si_launch *l) { return scale(l, T); }     \
    static int sum_of_squares_partial_##tn(si_launch *l) { return sum_of_squares_partial(l, T); }
SI_FOR_FLOAT_TYPES(TYPE)

#define PAIR_ENTRIES(sn, S, dn, D)                                       \
    {"longbow_convert_" #sn "_" #dn, "ppl", convert_##sn##_##dn},        \
    {"longbow_axpy_" #sn "_" #dn, "fppl", axpy_##sn##_##dn},
#define TYPE_ENTRIES(tn, T)                                             \
    {"longbow_fill_" #tn, "plf", fill_##tn},                            \
    {"longbow_scale_" #tn, "plf", scale_##tn},                          \
    {"longbow_sum_of_squares_partial_" #tn, "plp", sum_of_squares_partial_##tn},

const si_kernel si_kernels_elementwise[] = {
    SI_FOR_FLOAT_TYPE_PAIRS(PAIR_ENTRIES)
    SI_FOR_FLOAT_TYPES(TYPE_ENTRIES)
    {"longbow_fill_i32", "plf", fill_i32},
    {"longbow_sum_partials_f64", "pip", sum_partials_f64},
    {NULL, NULL, NULL},
};
