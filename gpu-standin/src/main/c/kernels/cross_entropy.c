// cross_entropy.c: the CPU reading of cross_entropy.cu (softmax cross-entropy, the gradient
// written over the logits).
//
// Block-per-row, strided by the grid (row = blockIdx.x; row += gridDim.x), so every row is
// processed whatever the grid. Pass 1's online (max, sum) is kept per thread as the .cu keeps
// it (thread k owns element j when j % blockDim.x == k, or its 16-byte pack j / N when the row
// is vectorised), so the sums round as the kernel's do. A NaN logit anywhere makes the row's sum,
// and so its loss and gradient, NaN (the kernel flags NaNs per thread: its online max skips them).
#include "kernel.h"

static int cross_entropy(si_launch *l, si_float_type t) {
    int64_t rows = si_param_i64(l, 3), vocab = si_param_i64(l, 4);
    float grad_scale = si_param_f32(l, 5);
    if (si_require_dims(l, 1) || si_require_warps(l)) return l->error;
    uint64_t address = si_param_ptr(l, 0);
    void *logits = si_kernel_output_array(l, address, si_count(rows, vocab), si_float_size(t));  // the gradient replaces them
    const int32_t *targets = si_kernel_input_array(l, si_param_ptr(l, 1), rows, 4);
    float *losses = si_kernel_output_array(l, si_param_ptr(l, 2), rows, 4);
    if (!logits || !targets || !losses) return l->error;
    int64_t threads = l->block.x, pack = 16 / (int64_t)si_float_size(t);
    int vectorised = vocab % pack == 0 && address % 16 == 0;
    float m[1024], s[1024];
    int saw_nan[1024];
    for (int64_t r = 0; r < rows; r++) {
        int64_t base = r * vocab, target = targets[r];
        if (target == -1) {
            for (int64_t j = 0; j < vocab; j++) si_store(t, logits, base + j, 0.f);
            losses[r] = 0.f;
            continue;
        }
        int valid = target >= 0 && target < vocab;
        float target_logit = valid ? si_load(t, logits, base + target) : NAN;
        for (int64_t k = 0; k < threads; k++) m[k] = -INFINITY, s[k] = 0.f, saw_nan[k] = 0;
        for (int64_t j = 0; j < vocab; j++) {
            int64_t k = (vectorised ? j / pack : j) % threads;
            float v = si_load(t, logits, base + j);
            if (isnan(v)) {
                saw_nan[k] = 1;
            } else if (v > m[k]) {
                s[k] = s[k] * expf(m[k] - v) + 1.f;
                m[k] = v;
            } else if (m[k] != -INFINITY) {
                s[k] += expf(v - m[k]);
            }
        }
        float row_max = -INFINITY;
        for (int64_t k = 0; k < threads; k++) row_max = fmaxf(row_max, m[k]);
        double sum = 0;
        for (int64_t k = 0; k < threads; k++) sum += saw_nan[k] ? NAN : m[k] == -INFINITY ? 0.f : s[k] * expf(m[k] - row_max);
        float lse = row_max + logf((float)sum);
        losses[r] = lse - target_logit;
        float poison = valid ? 0.f : NAN;
        for (int64_t j = 0; j < vocab; j++) {
            float v = si_load(t, logits, base + j);
            si_store(t, logits, base + j, grad_scale * (expf(v - lse) - (j == target)) + poison);
        }
    }
    return 0;
}

#define TYPE(tn, T) static int cross_entropy_##tn(si_launch *l) { return cross_entropy(l, T); }
SI_FOR_FLOAT_TYPES(TYPE)

#define TYPE_ENTRIES(tn, T) {"longbow_cross_entropy_" #tn, "pppllf", cross_entropy_##tn},

const si_kernel si_kernels_cross_entropy[] = {
    SI_FOR_FLOAT_TYPES(TYPE_ENTRIES)
    {NULL, NULL, NULL},
};
