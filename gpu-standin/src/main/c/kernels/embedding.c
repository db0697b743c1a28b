// embedding.c: the CPU reading of embedding.cu (token embedding lookup and its gradient).
//
// Both are grid-stride over tokens (s = blockIdx.x * blockDim.y + threadIdx.y, blocks of
// blockDim.y tokens) and block-stride over a row's d elements, so any grid covers every token.
// The table is the [vocab, d] tensor any valid token may select. A token outside [0, vocab)
// makes its output row NaN in forward and adds nothing in backward. Backward's fp32 atomics are
// applied in token order.
#include "kernel.h"

static int embedding_forward(si_launch *l, si_float_type t, si_float_type o) {
    int64_t count = si_param_i64(l, 3), vocab = si_param_i64(l, 4), d = si_param_i64(l, 5);
    if (si_require_dims(l, 2)) return l->error;
    const void *table = si_kernel_input_array(l, si_param_ptr(l, 0), count > 0 ? si_count(vocab, d) : 0, si_float_size(t));
    const int32_t *tokens = si_kernel_input_array(l, si_param_ptr(l, 1), count, 4);
    void *out = si_kernel_output_array(l, si_param_ptr(l, 2), si_count(count, d), si_float_size(o));
    if (!table || !tokens || !out) return l->error;
    for (int64_t s = 0; s < count; s++) {
        int64_t token = tokens[s];
        int valid = token >= 0 && token < vocab;
        for (int64_t j = 0; j < d; j++) si_store(o, out, s * d + j, valid ? si_load(t, table, token * d + j) : NAN);
    }
    return 0;
}

static int embedding_backward(si_launch *l, si_float_type t) {
    int64_t count = si_param_i64(l, 3), vocab = si_param_i64(l, 4), d = si_param_i64(l, 5);
    if (si_require_dims(l, 2)) return l->error;
    const int32_t *tokens = si_kernel_input_array(l, si_param_ptr(l, 0), count, 4);
    const void *dout = si_kernel_input_array(l, si_param_ptr(l, 1), si_count(count, d), si_float_size(t));
    float *dtable = si_kernel_output_array(l, si_param_ptr(l, 2), count > 0 ? si_count(vocab, d) : 0, 4);  // added to
    if (!tokens || !dout || !dtable) return l->error;
    for (int64_t s = 0; s < count; s++) {
        int64_t token = tokens[s];
        if (token < 0 || token >= vocab) continue;
        for (int64_t j = 0; j < d; j++) dtable[token * d + j] += si_load(t, dout, s * d + j);
    }
    return 0;
}

#define PAIR(tn, T, on, O) static int embedding_forward_##tn##_##on(si_launch *l) { return embedding_forward(l, T, O); }
SI_FOR_FLOAT_TYPE_PAIRS(PAIR)
#define TYPE(tn, T) static int embedding_backward_##tn(si_launch *l) { return embedding_backward(l, T); }
SI_FOR_FLOAT_TYPES(TYPE)

#define PAIR_ENTRIES(tn, T, on, O) {"longbow_embedding_forward_" #tn "_" #on, "ppplll", embedding_forward_##tn##_##on},
#define TYPE_ENTRIES(tn, T) {"longbow_embedding_backward_" #tn, "ppplll", embedding_backward_##tn},

const si_kernel si_kernels_embedding[] = {
    SI_FOR_FLOAT_TYPE_PAIRS(PAIR_ENTRIES)
    SI_FOR_FLOAT_TYPES(TYPE_ENTRIES)
    {NULL, NULL, NULL},
};
