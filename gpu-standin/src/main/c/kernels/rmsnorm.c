// rmsnorm.c: the CPU reading of rmsnorm.cu (RMSNorm forward, backward, and the column sum that
// folds backward's per-block dw partials).
//
// Forward and backward are block-per-row, strided by the grid (row = blockIdx.x; row += gridDim.x),
// so every row is processed whatever the grid. Row reductions are summed in fp64 (the GPU's
// fp32 tree has another order anyway); everything else is the .cu's fp32 arithmetic.
#include "kernel.h"

static int rmsnorm_forward(si_launch *l, si_float_type t) {
    int64_t rows = si_param_i64(l, 4), d = si_param_i64(l, 5);
    float eps = si_param_f32(l, 6);
    if (si_require_dims(l, 1) || si_require_warps(l)) return l->error;
    uint64_t size = si_float_size(t);
    const void *x = si_kernel_input_array(l, si_param_ptr(l, 0), si_count(rows, d), size);
    const float *w = si_kernel_input_array(l, si_param_ptr(l, 1), rows > 0 ? d : 0, 4);
    void *y = si_kernel_output_array(l, si_param_ptr(l, 2), si_count(rows, d), size);
    float *rstd = si_kernel_output_array(l, si_param_ptr(l, 3), rows, 4);
    if (!x || !w || !y || !rstd) return l->error;
    for (int64_t row = 0; row < rows; row++) {
        double ss = 0;
        for (int64_t j = 0; j < d; j++) {
            double v = si_load(t, x, row * d + j);
            ss += v * v;
        }
        float r = 1.f / sqrtf((float)ss / d + eps);
        rstd[row] = r;
        for (int64_t j = 0; j < d; j++) si_store(t, y, row * d + j, si_load(t, x, row * d + j) * r * w[j]);
    }
    return 0;
}

// Block b zeroes its row b of dw_partial [gridDim.x, d] (also when it gets no rows), then adds
// dy x r of each of its rows into it, in row order.
static int rmsnorm_backward(si_launch *l, si_float_type t) {
    int64_t rows = si_param_i64(l, 6), d = si_param_i64(l, 7), blocks = l->grid.x;
    if (si_require_dims(l, 1) || si_require_warps(l)) return l->error;
    uint64_t size = si_float_size(t);
    const void *x = si_kernel_input_array(l, si_param_ptr(l, 0), si_count(rows, d), size);
    const float *w = si_kernel_input_array(l, si_param_ptr(l, 1), rows > 0 ? d : 0, 4);
    const float *rstd = si_kernel_input_array(l, si_param_ptr(l, 2), rows, 4);
    const void *dy = si_kernel_input_array(l, si_param_ptr(l, 3), si_count(rows, d), size);
    void *dx = si_kernel_output_array(l, si_param_ptr(l, 4), si_count(rows, d), size);
    float *partial = si_kernel_output_array(l, si_param_ptr(l, 5), si_count(blocks, d), 4);
    if (!x || !w || !rstd || !dy || !dx || !partial) return l->error;
    for (int64_t b = 0; b < blocks; b++) {
        for (int64_t j = 0; j < d; j++) partial[b * d + j] = 0.f;
        for (int64_t row = b; row < rows; row += blocks) {
            float r = rstd[row];
            double dot = 0;
            for (int64_t j = 0; j < d; j++) dot += (double)(si_load(t, dy, row * d + j) * w[j]) * si_load(t, x, row * d + j);
            float c = r * r * (float)dot / d;
            for (int64_t j = 0; j < d; j++) {
                float xv = si_load(t, x, row * d + j), gv = si_load(t, dy, row * d + j);
                si_store(t, dx, row * d + j, r * (w[j] * gv - c * xv));
                partial[b * d + j] += gv * xv * r;
            }
        }
    }
    return 0;
}

// acc[j] += sum over b < blocks of partial[b, j]: grid-stride over the columns.
static int column_sum_f32(si_launch *l) {
    int64_t blocks = si_param_i64(l, 1), d = si_param_i64(l, 2);
    if (si_require_dims(l, 1)) return l->error;
    const float *partial = si_kernel_input_array(l, si_param_ptr(l, 0), si_count(blocks, d), 4);
    float *acc = si_kernel_output_array(l, si_param_ptr(l, 3), d, 4);  // added to
    if (!partial || !acc) return l->error;
    for (int64_t j = 0; j < d; j++) {
        float s = 0.f;
        for (int64_t b = 0; b < blocks; b++) s += partial[b * d + j];
        acc[j] += s;
    }
    return 0;
}

#define TYPE(tn, T)                                                                  \
    static int rmsnorm_forward_##tn(si_launch *l) { return rmsnorm_forward(l, T); } \
    static int rmsnorm_backward_##tn(si_launch *l) { return rmsnorm_backward(l, T); }
SI_FOR_FLOAT_TYPES(TYPE)

#define TYPE_ENTRIES(tn, T)                                              \
    {"longbow_rmsnorm_forward_" #tn, "ppppllf", rmsnorm_forward_##tn},   \
    {"longbow_rmsnorm_backward_" #tn, "ppppppll", rmsnorm_backward_##tn},

const si_kernel si_kernels_rmsnorm[] = {
    SI_FOR_FLOAT_TYPES(TYPE_ENTRIES)
    {"longbow_column_sum_f32", "pllp", column_sum_f32},
    {NULL, NULL, NULL},
};
