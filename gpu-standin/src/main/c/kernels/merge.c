// merge.c: the CPU reading of merge.cu (AttentionOps.merge of two log-sum-exp weighted rows).
//
// One warp per row, grid-stride over the grid's warps (global thread / 32), so any grid covers
// every row; the warp's lanes stride over the row's d elements. That decomposition needs
// blockDim.x to be a multiple of 32 (otherwise a warp straddles two blocks whose lanes both
// start at lane 0, and part of the row is never written).
#include "kernel.h"

static int merge(si_launch *l, si_float_type t) {
    int64_t rows = si_param_i64(l, 4);
    int d = si_param_i32(l, 5);
    if (si_require_dims(l, 1) || si_require_warps(l)) return l->error;
    float *out = si_kernel_output_array(l, si_param_ptr(l, 0), si_count(rows, d), 4);  // out, lse: merged in place
    float *lse = si_kernel_output_array(l, si_param_ptr(l, 1), rows, 4);
    const void *part_out = si_kernel_input_array(l, si_param_ptr(l, 2), si_count(rows, d), si_float_size(t));
    const float *part_lse = si_kernel_input_array(l, si_param_ptr(l, 3), rows, 4);
    if (!out || !lse || !part_out || !part_lse) return l->error;
    for (int64_t row = 0; row < rows; row++) {
        float a = lse[row], b = part_lse[row];
        float m = fmaxf(a, b);
        float merged = m == -INFINITY ? -INFINITY : m + logf(expf(a - m) + expf(b - m));
        float wa = a == -INFINITY ? 0.f : expf(a - merged);
        float wb = b == -INFINITY ? 0.f : expf(b - merged);
        // A weight of 0 never multiplies its operand: a masked row's output may be anything.
        for (int64_t i = row * d; i < (row + 1) * d; i++) {
            out[i] = (wa == 0.f ? 0.f : wa * out[i]) + (wb == 0.f ? 0.f : wb * si_load(t, part_out, i));
        }
        lse[row] = merged;
    }
    return 0;
}

#define TYPE(tn, T) static int merge_##tn(si_launch *l) { return merge(l, T); }
SI_FOR_FLOAT_TYPES(TYPE)

#define TYPE_ENTRIES(tn, T) {"longbow_attention_merge_" #tn, "ppppli", merge_##tn},

const si_kernel si_kernels_merge[] = {
    SI_FOR_FLOAT_TYPES(TYPE_ENTRIES)
    {NULL, NULL, NULL},
};
