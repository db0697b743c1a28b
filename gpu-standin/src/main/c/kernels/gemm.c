// gemm.c: the CPU reading of kernels-ptx/src/main/cuda/gemm.cu, C = alpha op(A) op(B) + beta C,
// row-major, for longbow_gemm_<inputs>_<output>_<op(A)><op(B)> (n = as stored, t = transposed).
//
// Storage, as gemm.cu's gemm<T, C, A_K, B_K> reads it: op(A) = A is a [M, K] (lda K), op(A) =
// A^T a [K, M] (lda M); op(B) = B is b [K, N] (ldb N), op(B) = B^T b [N, K] (ldb K); c [M, N].
// Each CTA computes the 128x128 tile of C at (blockIdx.y * 128, blockIdx.x * 128), fp32
// accumulation (bf16 products are exact in fp32; the fp32 variants' 3xTF32 is fp32-accurate),
// then c = alpha acc (beta == 0: C is never read) or fmaf(beta, c, alpha acc), rounded to
// nearest even for a bf16 C. Elements outside M x N are never written, so a grid that is too
// small leaves C's remainder unwritten and a larger one writes nothing more.
//
// Checks: a 2-D grid (blockIdx.z is not read: more slices would apply beta again); block
// (256, 1, 1); the dynamic shared memory the three cp.async stages index,
// 3 * (A tile + B tile) * sizeof(input) with the .cu's padded tile shapes (52224 to 61440
// bytes by layout: every variant needs the max-dynamic-shared attribute); a, b, c over
// their full extents. The .cu checks operand alignment at run time and takes a scalar load path
// when a pointer or leading dimension does not suit cp.async, so only element alignment is
// required.
#include <stdbool.h>
#include <stdlib.h>

#include "kernel.h"
#include "standin.h"

#define TILE 128     // block tile, M and N
#define THREADS 256  // 8 warps
#define STAGES 3
#define KC 64        // k per CPU step (any value: only the accumulation order depends on it)

// Elements of one operand's shared tile (gemm.cu's Operand<T, K_CONTIG>::ELEMS): K_CONTIG
// [TILE][BK + CHUNK], else [BK][TILE + 8], with BK = 64 bytes and CHUNK = 16 bytes of T.
static uint32_t operand_elems(uint32_t size, bool k_contig) {
    uint32_t bk = 64 / size, chunk = 16 / size;
    return k_contig ? TILE * (bk + chunk) : bk * (TILE + 8);
}

typedef struct {
    float a[TILE][KC];    // op(A) rows of the tile x this k step, zero outside
    float b[KC][TILE];    // this k step x op(B) columns of the tile, zero outside
    float acc[TILE][TILE];
} gemm_work;

// Element (row, kk) of op(A) / (kk, col) of op(B), with the .cu's storage rules.
static float load_a(si_float_type t, const void *a, bool a_k, int64_t m, int64_t k, int64_t row, int64_t kk) {
    return si_load(t, a, a_k ? row * k + kk : kk * m + row);
}
static float load_b(si_float_type t, const void *b, bool b_k, int64_t n, int64_t k, int64_t kk, int64_t col) {
    return si_load(t, b, b_k ? col * k + kk : kk * n + col);
}

static void gemm_tile(gemm_work *w, si_float_type t, si_float_type ct, bool a_k, bool b_k, const void *a, const void *b,
                      void *c, int64_t m, int64_t n, int64_t k, float alpha, float beta, int64_t row0, int64_t col0) {
    int rows = m - row0 < TILE ? (int)(m - row0) : TILE, cols = n - col0 < TILE ? (int)(n - col0) : TILE;
    memset(w->acc, 0, sizeof w->acc);
    for (int64_t k0 = 0; k0 < k; k0 += KC) {
        int depth = k - k0 < KC ? (int)(k - k0) : KC;
        memset(w->b, 0, sizeof w->b);
        for (int kk = 0; kk < depth; kk++)
            for (int j = 0; j < cols; j++) w->b[kk][j] = load_b(t, b, b_k, n, k, k0 + kk, col0 + j);
        for (int i = 0; i < rows; i++)
            for (int kk = 0; kk < depth; kk++) w->a[i][kk] = load_a(t, a, a_k, m, k, row0 + i, k0 + kk);
        for (int i = 0; i < rows; i++)
            for (int kk = 0; kk < depth; kk++) {
                float x = w->a[i][kk];
                for (int j = 0; j < TILE; j++) w->acc[i][j] += x * w->b[kk][j];
            }
    }
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            int64_t at = (row0 + i) * n + col0 + j;
            float v = alpha * w->acc[i][j];
            si_store(ct, c, at, beta == 0.f ? v : fmaf(beta, si_load(ct, c, at), v));
        }
}

static int gemm(si_launch *l, si_float_type t, si_float_type ct, bool a_k, bool b_k) {
    uint64_t size = si_float_size(t), csize = si_float_size(ct);
    if (l->grid.z != 1)
        return si_kernel_fail(l, SI_ERROR_LAUNCH_FAILED, "%s: grid (%u, %u, %u), but the kernel is written for a 2-D grid",
                              l->kernel, l->grid.x, l->grid.y, l->grid.z);
    if (si_require_block(l, THREADS, 1, 1) ||
        si_require_shared(l, STAGES * (operand_elems(size, a_k) + operand_elems(size, b_k)) * size))
        return l->error;
    int32_t m = si_param_i32(l, 3), n = si_param_i32(l, 4), k = si_param_i32(l, 5);
    float alpha = si_param_f32(l, 6), beta = si_param_f32(l, 7);
    // Negative extents touch nothing, as in the .cu (its bounds checks are all "< extent").
    int64_t mm = m > 0 ? m : 0, nn = n > 0 ? n : 0, kk = k > 0 ? k : 0;
    const void *a = si_kernel_input_array(l, si_param_ptr(l, 0), si_count(mm, kk), size);
    const void *b = si_kernel_input_array(l, si_param_ptr(l, 1), si_count(nn, kk), size);
    void *c = si_kernel_output_array(l, si_param_ptr(l, 2), si_count(mm, nn), csize);  // also read when beta != 0
    if (!a || !b || !c) return l->error;
    gemm_work *w = malloc(sizeof *w);
    if (!w) return si_kernel_fail(l, SI_ERROR_OUT_OF_MEMORY, "%s: no memory for the CPU work buffers", l->kernel);
    for (uint32_t y = 0; y < l->grid.y; y++)
        for (uint32_t x = 0; x < l->grid.x; x++) {
            int64_t row0 = (int64_t)y * TILE, col0 = (int64_t)x * TILE;
            if (row0 < mm && col0 < nn) gemm_tile(w, t, ct, a_k, b_k, a, b, c, mm, nn, kk, alpha, beta, row0, col0);
        }
    free(w);
    return l->error;
}

// One entry per instantiation: GEMM_LAYOUTS(tn, T, cn, C) of gemm.cu, A_K for op(A) = n and
// B_K for op(B) = t.
#define GEMM(T, C, TT, CT, LA, LB, A_K, B_K) \
    static int longbow_gemm_##T##_##C##_##LA##LB(si_launch *l) { return gemm(l, TT, CT, A_K, B_K); }
#define GEMM_LAYOUTS(X, T, C, TT, CT) \
    X(T, C, TT, CT, n, n, true, false) X(T, C, TT, CT, n, t, true, true) \
    X(T, C, TT, CT, t, n, false, false) X(T, C, TT, CT, t, t, false, true)
#define GEMM_TYPES(X) \
    GEMM_LAYOUTS(X, f32, f32, SI_F32, SI_F32) GEMM_LAYOUTS(X, bf16, f32, SI_BF16, SI_F32) \
    GEMM_LAYOUTS(X, bf16, bf16, SI_BF16, SI_BF16)
GEMM_TYPES(GEMM)

#define ENTRY(T, C, TT, CT, LA, LB, A_K, B_K) \
    {"longbow_gemm_" #T "_" #C "_" #LA #LB, "pppiiiff", longbow_gemm_##T##_##C##_##LA##LB},
const si_kernel si_kernels_gemm[] = {GEMM_TYPES(ENTRY){NULL, NULL, NULL}};
