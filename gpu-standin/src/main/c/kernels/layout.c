// layout.c: the CPU reading of layout.cu (swapLeadingDims, repeatHeads, sumRepeatedHeads, and
// copyRows, the head-dim padding and cropping around the flash kernels).
//
// All four are grid-stride over rows (row = blockIdx.x * blockDim.y + threadIdx.y, blocks of
// blockDim.y rows) and block-stride over a row's words or elements, so any grid covers every
// row. The copies move words of 2, 4, 8 or 16 bytes with no alignment fallback: both pointers
// must be aligned to the word.
#include "kernel.h"
#include "standin.h"

// dst row j = src row source(j): swap [a, b, row] -> [b, a, row] takes source row
// (j % a) * b + j / a of a * b; repeat takes source row j / repeats for dst_rows rows.
static int copy_rows(si_launch *l, uint64_t word, int swap) {
    int64_t a = si_param_i64(l, 2), b = si_param_i64(l, 3), words = si_param_i64(l, 4);
    if (si_require_dims(l, 2)) return l->error;
    int64_t rows = swap ? si_count(a, b) : a, source_rows = rows;
    if (!swap && rows > 0 && words > 0) {
        if (b <= 0) {
            return si_kernel_fail(l, SI_ERROR_ILLEGAL_ADDRESS, "%s: repeats %lld sends destination row j to source row j / repeats, outside the source",
                                  l->kernel, (long long)b);
        }
        source_rows = (rows - 1) / b + 1;
    }
    const uint8_t *src = si_kernel_input_array(l, si_param_ptr(l, 0), si_count(source_rows, words), word);
    uint8_t *dst = si_kernel_output_array(l, si_param_ptr(l, 1), si_count(rows, words), word);
    if (!src || !dst) return l->error;
    if (words <= 0) return 0;
    uint64_t row_bytes = (uint64_t)words * word;
    for (int64_t j = 0; j < rows; j++) {
        int64_t from = swap ? j % a * b + j / a : j / b;
        memcpy(dst + j * row_bytes, src + from * row_bytes, row_bytes);
    }
    return 0;
}

// dst [rows, dst_words] = src [rows, src_words] row by row: the first min(src_words, dst_words)
// words copied, the words past src_words zero.
static int copy_rows_resized(si_launch *l, uint64_t word) {
    int64_t rows = si_param_i64(l, 2), src_words = si_param_i64(l, 3), dst_words = si_param_i64(l, 4);
    if (si_require_dims(l, 2)) return l->error;
    // The .cu reads word w of a source row only where w < src_words and w < dst_words: a crop
    // leaves the last source row's tail unread.
    int64_t kept = src_words < dst_words ? src_words : dst_words, src_extent = 0;
    if (kept < 0) kept = 0;
    if (rows > 0 && kept > 0 && __builtin_add_overflow(si_count(rows - 1, src_words), kept, &src_extent)) src_extent = INT64_MAX;
    const uint8_t *src = si_kernel_input_array(l, si_param_ptr(l, 0), src_extent, word);
    uint8_t *dst = si_kernel_output_array(l, si_param_ptr(l, 1), si_count(rows, dst_words), word);
    if (!src || !dst) return l->error;
    if (rows <= 0 || dst_words <= 0) return 0;
    for (int64_t j = 0; j < rows; j++) {
        uint8_t *to = dst + (uint64_t)j * dst_words * word;
        memcpy(to, src + (uint64_t)j * src_words * word, (uint64_t)kept * word);
        memset(to + (uint64_t)kept * word, 0, (uint64_t)(dst_words - kept) * word);
    }
    return 0;
}

// dst [rows, d] = fp32 sum over r < repeats (in order) of src [rows, repeats, d].
static int sum_repeated_heads(si_launch *l, si_float_type t) {
    int64_t rows = si_param_i64(l, 2), repeats = si_param_i64(l, 3), d = si_param_i64(l, 4);
    if (si_require_dims(l, 2)) return l->error;
    const void *src = si_kernel_input_array(l, si_param_ptr(l, 0), si_count(si_count(rows, repeats), d), si_float_size(t));
    void *dst = si_kernel_output_array(l, si_param_ptr(l, 1), si_count(rows, d), si_float_size(t));
    if (!src || !dst) return l->error;
    for (int64_t row = 0; row < rows; row++) {
        for (int64_t j = 0; j < d; j++) {
            float acc = 0.f;
            for (int64_t r = 0; r < repeats; r++) acc += si_load(t, src, (row * repeats + r) * d + j);
            si_store(t, dst, row * d + j, acc);
        }
    }
    return 0;
}

#define WORD(wn, bytes)                                                                    \
    static int swap_leading_dims_##wn(si_launch *l) { return copy_rows(l, bytes, 1); }    \
    static int repeat_heads_##wn(si_launch *l) { return copy_rows(l, bytes, 0); }    \
    static int copy_rows_##wn(si_launch *l) { return copy_rows_resized(l, bytes); }
WORD(w2, 2) WORD(w4, 4) WORD(w8, 8) WORD(w16, 16)

#define TYPE(tn, T) static int sum_repeated_heads_##tn(si_launch *l) { return sum_repeated_heads(l, T); }
SI_FOR_FLOAT_TYPES(TYPE)

#define WORD_ENTRIES(wn)                                                  \
    {"longbow_swap_leading_dims_" #wn, "pplll", swap_leading_dims_##wn},  \
    {"longbow_repeat_heads_" #wn, "pplll", repeat_heads_##wn},            \
    {"longbow_copy_rows_" #wn, "pplll", copy_rows_##wn},
#define TYPE_ENTRIES(tn, T) {"longbow_sum_repeated_heads_" #tn, "pplll", sum_repeated_heads_##tn},

const si_kernel si_kernels_layout[] = {
    WORD_ENTRIES(w2) WORD_ENTRIES(w4) WORD_ENTRIES(w8) WORD_ENTRIES(w16)
    SI_FOR_FLOAT_TYPES(TYPE_ENTRIES)
    {NULL, NULL, NULL},
};
