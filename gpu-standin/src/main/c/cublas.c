// cublas.c: the cuBLAS stand-in (liblongbow-standin-cublas.so): the cuBLAS 13.1 calls Longbow
// binds (bindings/cublas.includes), computed on the CPU on the driver stand-in's streams.
//
// Rules modelled, from the cuBLAS documentation ("cuBLAS context", "Thread safety",
// "cublasSetStream", "cublasSetWorkspace", "cublasSetMathMode", "cublas<t>gemm",
// "cublasGemmEx", "cublasGemmStridedBatchedEx"):
// - cublasCreate_v2 needs a current context (none: CUBLAS_STATUS_NOT_INITIALIZED); the handle
//   belongs to that context's device and issues on the NULL stream until cublasSetStream_v2,
//   which also resets the workspace to cuBLAS's own. A user workspace must be device memory of
//   the handle's device aligned to 256 bytes (else CUBLAS_STATUS_INVALID_VALUE); each GEMM
//   checks it is still allocated when the stream reaches it.
// - GEMMs are column-major, C = alpha op(A) op(B) + beta C, with alpha and beta read on the host
//   at the call (CUBLAS_POINTER_MODE_HOST, the default; device memory there is refused). m, n, k
//   and batchCount >= 0, transa/transb one of N, T, C (C = T for real types), lda >= max(1, rows
//   of A as stored), ldb likewise, ldc >= max(1, m), alpha and beta not NULL: else
//   CUBLAS_STATUS_INVALID_VALUE. Strided batches whose C matrices overlap are refused too (their
//   result is undefined in cuBLAS). m, n or batchCount 0 returns at once. beta == 0 never reads
//   C (NaN there does not propagate); alpha == 0 or k == 0 never reads A and B.
// - Types (cublasGemmEx table): CUBLAS_COMPUTE_32F with A = B = 32F -> C 32F, or A = B = 16F /
//   16BF -> C of that type or 32F; CUBLAS_COMPUTE_32F_FAST_TF32 and _FAST_16BF with 32F only,
//   their inputs rounded to TF32 / BF16 as tensor cores read them (so does COMPUTE_32F with 32F
//   inputs under CUBLAS_TF32_TENSOR_OP_MATH). Anything else: CUBLAS_STATUS_NOT_SUPPORTED.
//   Products accumulate in fp32; a 16-bit C is rounded to nearest even.
// - The work runs on the handle's stream, which must belong to the calling thread's current
//   context, of the handle's device (cuBLAS launches on the current device). A thread without a
//   current context gets what the CUDA runtime does: device 0's primary context made current;
//   a handle of another device then fails with CUBLAS_STATUS_EXECUTION_FAILED, as does a
//   destroyed stream or a context with a sticky error. Every operand goes through si_memory on
//   the stream: outside its allocation, misaligned for its type, or on another device is a fault.
//   A and B are read, C and the workspace written (C is read too when beta != 0), which is what
//   the race detector compares with other streams' accesses.
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "standin.h"

// ---- cublas_api.h / library_types.h values, as bindings/.../cublas/cublas_h.java has them ---

enum { CUBLAS_STATUS_SUCCESS = 0, CUBLAS_STATUS_NOT_INITIALIZED = 1, CUBLAS_STATUS_INVALID_VALUE = 7,
       CUBLAS_STATUS_EXECUTION_FAILED = 13, CUBLAS_STATUS_NOT_SUPPORTED = 15 };
enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUBLAS_OP_C = 2 };
enum { CUDA_R_32F = 0, CUDA_R_16F = 2, CUDA_R_16BF = 14 };
enum { CUBLAS_COMPUTE_32F = 68, CUBLAS_COMPUTE_32F_FAST_16BF = 75, CUBLAS_COMPUTE_32F_FAST_TF32 = 77 };
enum { CUBLAS_TF32_TENSOR_OP_MATH = 3, CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION = 16 };
#define CUBLAS_GEMM_DEFAULT (-1)
#define CUBLAS_VERSION (13 * 10000 + 1 * 100 + 1)  // CUBLAS_VER_MAJOR * 10000 + MINOR * 100 + PATCH

// The CUDA driver API: what the runtime calls to make a context current.
int cuCtxSetCurrent(si_context *context);

typedef struct handle {
    struct handle *next;   // the live handles
    si_context *ctx;
    int device, math;
    void *stream;          // as given to cublasSetStream_v2 (NULL: the legacy stream)
    uint64_t workspace, workspace_bytes;  // a user workspace, or 0
} handle;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static handle *handles;

__attribute__((format(printf, 2, 3))) static int refuse(int status, const char *fmt, ...) {
    char line[700];
    va_list args;
    va_start(args, fmt);
    vsnprintf(line, sizeof line, fmt, args);
    va_end(args);
    si_log("%s", line);
    return status;
}

static bool live(const handle *h) {
    pthread_mutex_lock(&lock);
    const handle *l = handles;
    while (l && l != h) l = l->next;
    pthread_mutex_unlock(&lock);
    return h != NULL && l == h;
}

static const char *type_name(int type) {
    return type == CUDA_R_32F ? "CUDA_R_32F" : type == CUDA_R_16F ? "CUDA_R_16F" : type == CUDA_R_16BF ? "CUDA_R_16BF" : "unmodelled";
}

// ---- the GEMM ----------------------------------------------------------------------------

enum { EXACT, TF32, BF16 };  // how the inputs are read

typedef struct {
    int ta, tb, m, n, k, lda, ldb, ldc, batch, device, round;
    si_float_type in, out;   // storage of A and B, of C
    float alpha, beta;
    uint64_t a, b, c, workspace, workspace_bytes;
    int64_t stride_a, stride_b, stride_c;  // elements
} gemm_work;

// Tiles of op(A) (k x m, m contiguous), op(B) (n x k, k contiguous) and C (n x m, m contiguous):
// the inner loop runs over MB contiguous floats and vectorizes.
enum { MB = 64, NB = 64, KB = 128 };
typedef struct {
    float a[KB][MB], b[NB][KB], acc[NB][MB];
} tiles;

static float tf32(float x) {  // the 10-bit mantissa tensor cores read, rounded to nearest (ties away)
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0x1000u) & ~0x1fffu;
    memcpy(&x, &u, 4);
    return x;
}

static float input(const gemm_work *w, const void *base, int64_t i) {
    float x = si_load(w->in, base, i);
    return w->round == TF32 ? tf32(x) : w->round == BF16 ? si_bf16_to_f32(si_f32_to_bf16(x)) : x;
}

static void multiply(const gemm_work *w, const void *A, const void *B, void *C, tiles *t) {
    for (int j0 = 0; j0 < w->n; j0 += NB) {
        int nb = w->n - j0 < NB ? w->n - j0 : NB;
        for (int i0 = 0; i0 < w->m; i0 += MB) {
            int mb = w->m - i0 < MB ? w->m - i0 : MB;
            memset(t->acc, 0, sizeof t->acc);
            for (int p0 = 0; A != NULL && p0 < w->k; p0 += KB) {  // A NULL: alpha == 0 or k == 0
                int kb = w->k - p0 < KB ? w->k - p0 : KB;
                for (int p = 0; p < kb; p++) {
                    for (int i = 0; i < mb; i++) {
                        int64_t r = i0 + i, col = p0 + p;
                        t->a[p][i] = input(w, A, w->ta == CUBLAS_OP_N ? r + col * w->lda : col + r * w->lda);
                    }
                }
                for (int j = 0; j < nb; j++) {
                    for (int p = 0; p < kb; p++) {
                        int64_t r = p0 + p, col = j0 + j;
                        t->b[j][p] = input(w, B, w->tb == CUBLAS_OP_N ? r + col * w->ldb : col + r * w->ldb);
                    }
                }
                for (int j = 0; j < nb; j++) {  // rows i >= mb of the tile hold stale finite values, never stored
                    for (int p = 0; p < kb; p++) {
                        float x = t->b[j][p];
                        for (int i = 0; i < MB; i++) t->acc[j][i] += t->a[p][i] * x;
                    }
                }
            }
            for (int j = 0; j < nb; j++) {
                for (int i = 0; i < mb; i++) {
                    int64_t at = (int64_t)(i0 + i) + (int64_t)(j0 + j) * w->ldc;
                    float v = w->alpha * t->acc[j][i];
                    si_store(w->out, C, at, w->beta == 0.f ? v : v + w->beta * si_load(w->out, C, at));
                }
            }
        }
    }
}

// An operand as the stand-in reads it: device memory of the handle's device (or pinned host
// memory), element aligned. NULL after writing the fault.
static void *operand(const gemm_work *w, const char *name, uint64_t address, int64_t elements, uint64_t size, si_access access,
                     int *error) {
    char detail[256];
    void *p = si_memory(address, (uint64_t)elements * size, size, access, error, detail);
    if (p == NULL) {
        snprintf(si_work_reason(), 512, "%s: %s", name, detail);
        return NULL;
    }
    int owner = si_memory_device(address);
    if (owner >= 0 && owner != w->device) {
        *error = SI_ERROR_ILLEGAL_ADDRESS;
        snprintf(si_work_reason(), 512, "%s 0x%llx is device %d's memory, but the handle's device is %d", name,
                 (unsigned long long)address, owner, w->device);
        return NULL;
    }
    return p;
}

static int run_gemm(void *arg) {
    gemm_work *w = arg;
    int error = SI_SUCCESS;
    if (w->workspace_bytes > 0 && !operand(w, "the workspace", w->workspace, (int64_t)w->workspace_bytes, 1, SI_WRITE, &error)) {
        return error;  // cuBLAS's scratch: written by every GEMM on the handle's stream
    }
    uint64_t in = si_float_size(w->in), out = si_float_size(w->out);
    bool reads_ab = w->k > 0 && w->alpha != 0.f;
    // Extents in elements of the matrices as stored (column-major, leading dimensions).
    int64_t a_rows = w->ta == CUBLAS_OP_N ? w->m : w->k, a_cols = w->ta == CUBLAS_OP_N ? w->k : w->m;
    int64_t b_rows = w->tb == CUBLAS_OP_N ? w->k : w->n, b_cols = w->tb == CUBLAS_OP_N ? w->n : w->k;
    tiles *t = calloc(1, sizeof *t);  // zeroed once: padding never holds a NaN or a denormal
    for (int i = 0; i < w->batch && error == SI_SUCCESS; i++) {
        void *A = NULL, *B = NULL, *C;
        if (reads_ab) {
            A = operand(w, "A", w->a + (uint64_t)(i * w->stride_a * (int64_t)in), (a_cols - 1) * w->lda + a_rows, in, SI_READ, &error);
            if (A) {
                B = operand(w, "B", w->b + (uint64_t)(i * w->stride_b * (int64_t)in), (b_cols - 1) * w->ldb + b_rows, in, SI_READ,
                            &error);
            }
            if (B == NULL) break;
        }
        C = operand(w, "C", w->c + (uint64_t)(i * w->stride_c * (int64_t)out), (int64_t)(w->n - 1) * w->ldc + w->m, out, SI_WRITE,
                    &error);  // written always, read too when beta != 0
        if (C != NULL) multiply(w, A, B, C, t);
    }
    free(t);
    return error;
}

// Everything cublasSgemm_v2, cublasGemmEx and cublasGemmStridedBatchedEx check, then the
// enqueue. Addresses are device pointers; alpha and beta are host pointers to floats (the scale
// type of every modelled compute type).
static int gemm(const char *fn, handle *h, int ta, int tb, int m, int n, int k, const float *alpha, uint64_t a, int a_type,
                int lda, int64_t stride_a, uint64_t b, int b_type, int ldb, int64_t stride_b, const float *beta, uint64_t c,
                int c_type, int ldc, int64_t stride_c, int batch, int compute, int algo) {
    if (!live(h)) return refuse(CUBLAS_STATUS_NOT_INITIALIZED, "%s: %p is not a live cuBLAS handle", fn, (void *)h);
    ta = ta == CUBLAS_OP_C ? CUBLAS_OP_T : ta;  // conjugate transpose of a real matrix
    tb = tb == CUBLAS_OP_C ? CUBLAS_OP_T : tb;
    int a_rows = ta == CUBLAS_OP_N ? m : k, b_rows = tb == CUBLAS_OP_N ? k : n;
    char bad[200] = "";
    if ((ta != CUBLAS_OP_N && ta != CUBLAS_OP_T) || (tb != CUBLAS_OP_N && tb != CUBLAS_OP_T)) {
        snprintf(bad, sizeof bad, "transa %d or transb %d is not CUBLAS_OP_N, _T or _C", ta, tb);
    } else if (m < 0 || n < 0 || k < 0 || batch < 0) {
        snprintf(bad, sizeof bad, "m %d, n %d, k %d, batchCount %d: none may be negative", m, n, k, batch);
    } else if (lda < (a_rows > 1 ? a_rows : 1)) {
        snprintf(bad, sizeof bad, "lda %d < max(1, %s) = %d", lda, ta == CUBLAS_OP_N ? "m" : "k", a_rows > 1 ? a_rows : 1);
    } else if (ldb < (b_rows > 1 ? b_rows : 1)) {
        snprintf(bad, sizeof bad, "ldb %d < max(1, %s) = %d", ldb, tb == CUBLAS_OP_N ? "k" : "n", b_rows > 1 ? b_rows : 1);
    } else if (ldc < (m > 1 ? m : 1)) {
        snprintf(bad, sizeof bad, "ldc %d < max(1, m) = %d", ldc, m > 1 ? m : 1);
    } else if (alpha == NULL || beta == NULL) {
        snprintf(bad, sizeof bad, "alpha or beta is NULL");
    } else if (si_memory_device((uintptr_t)alpha) >= 0 || si_memory_device((uintptr_t)beta) >= 0) {
        snprintf(bad, sizeof bad, "alpha or beta is device memory, but the pointer mode is CUBLAS_POINTER_MODE_HOST");
    } else if (batch > 1 && m > 0 && n > 0 && llabs(stride_c) < (int64_t)(n - 1) * ldc + m) {
        snprintf(bad, sizeof bad, "the %d C matrices overlap (|strideC| %lld < (n - 1) * ldc + m = %lld): undefined in cuBLAS",
                 batch, (long long)stride_c, (long long)(n - 1) * ldc + m);
    }
    if (bad[0]) return refuse(CUBLAS_STATUS_INVALID_VALUE, "%s: %s", fn, bad);

    bool all_32f = a_type == CUDA_R_32F && b_type == CUDA_R_32F && c_type == CUDA_R_32F;
    bool half_in = a_type == b_type && (a_type == CUDA_R_16F || a_type == CUDA_R_16BF) && (c_type == a_type || c_type == CUDA_R_32F);
    bool supported = compute == CUBLAS_COMPUTE_32F ? all_32f || half_in
                   : compute == CUBLAS_COMPUTE_32F_FAST_TF32 || compute == CUBLAS_COMPUTE_32F_FAST_16BF ? all_32f : false;
    if (!supported) {
        return refuse(CUBLAS_STATUS_NOT_SUPPORTED, "%s: A %s x B %s -> C %s with computeType %d is not supported (the stand-in models"
                      " CUBLAS_COMPUTE_32F: 32F x 32F -> 32F, 16F / 16BF -> the same or 32F; _FAST_TF32 and _FAST_16BF: 32F only)",
                      fn, type_name(a_type), type_name(b_type), type_name(c_type), compute);
    }
    if (algo != CUBLAS_GEMM_DEFAULT && !(algo >= 0 && algo <= 23) && !(algo >= 99 && algo <= 115)) {
        return refuse(CUBLAS_STATUS_NOT_SUPPORTED, "%s: algo %d is not a cublasGemmAlgo_t", fn, algo);
    }
    if (m == 0 || n == 0 || batch == 0) return CUBLAS_STATUS_SUCCESS;

    si_context *ctx = si_current();
    if (ctx == NULL) {  // the CUDA runtime makes device 0's primary context current and launches there
        if (h->device != 0 || cuCtxSetCurrent(h->ctx) != SI_SUCCESS) {
            return refuse(CUBLAS_STATUS_EXECUTION_FAILED, "%s: no current context on this thread: the CUDA runtime makes device 0's"
                          " primary context current and launches there, but the handle belongs to device %d%s", fn, h->device,
                          h->device == 0 ? ", whose context is gone" : "");
        }
        si_log("%s: no current context on this thread: made device 0's primary context current, as the CUDA runtime does", fn);
        ctx = h->ctx;
    }
    if (si_context_device(ctx) != h->device) {
        return refuse(CUBLAS_STATUS_EXECUTION_FAILED, "%s: the current context is device %d's, but the handle was created on device %d"
                      " (cuBLAS launches on the current device, where the handle's stream and workspace are invalid)", fn,
                      si_context_device(ctx), h->device);
    }
    int error;
    si_stream *stream = si_stream_any(h->stream, &error);
    if (stream == NULL || si_stream_context(stream) != ctx) {
        return refuse(CUBLAS_STATUS_EXECUTION_FAILED, "%s: the handle's stream %p is %s", fn, h->stream,
                      stream == NULL ? "not a live stream (destroyed?)" : "a stream of another device");
    }
    gemm_work *w = malloc(sizeof *w);
    *w = (gemm_work){.ta = ta, .tb = tb, .m = m, .n = n, .k = k, .lda = lda, .ldb = ldb, .ldc = ldc, .batch = batch,
                     .device = h->device, .in = a_type == CUDA_R_32F ? SI_F32 : a_type == CUDA_R_16F ? SI_F16 : SI_BF16,
                     .out = c_type == CUDA_R_32F ? SI_F32 : c_type == CUDA_R_16F ? SI_F16 : SI_BF16,
                     .round = compute == CUBLAS_COMPUTE_32F_FAST_16BF                                             ? BF16
                            : compute == CUBLAS_COMPUTE_32F_FAST_TF32 || (all_32f && (h->math & 15) == CUBLAS_TF32_TENSOR_OP_MATH) ? TF32
                                                                                                                               : EXACT,
                     .alpha = *alpha, .beta = *beta, .a = a, .b = b, .c = c, .workspace = h->workspace,
                     .workspace_bytes = h->workspace_bytes, .stride_a = stride_a, .stride_b = stride_b, .stride_c = stride_c};
    si_launch_lock();
    error = si_enqueue(stream, run_gemm, w, free, fn);
    si_launch_unlock();
    return error ? refuse(CUBLAS_STATUS_EXECUTION_FAILED, "%s: device %d's context has failed (CUDA error %d)", fn, h->device, error)
                 : CUBLAS_STATUS_SUCCESS;
}

// ---- API -----------------------------------------------------------------------------------

SI_EXPORT int cublasCreate_v2(handle **out) {
    if (out == NULL) return refuse(CUBLAS_STATUS_INVALID_VALUE, "cublasCreate_v2: handle is NULL");
    si_context *ctx = si_current();
    if (ctx == NULL) return refuse(CUBLAS_STATUS_NOT_INITIALIZED, "cublasCreate_v2: no current context on this thread");
    int error = si_context_error(ctx);
    if (error) return refuse(CUBLAS_STATUS_NOT_INITIALIZED, "cublasCreate_v2: device %d's context has failed (CUDA error %d)",
                             si_context_device(ctx), error);
    handle *h = calloc(1, sizeof *h);
    h->ctx = ctx;
    h->device = si_context_device(ctx);
    pthread_mutex_lock(&lock);
    h->next = handles;
    handles = h;
    pthread_mutex_unlock(&lock);
    *out = h;
    return CUBLAS_STATUS_SUCCESS;
}

SI_EXPORT int cublasDestroy_v2(handle *h) {
    pthread_mutex_lock(&lock);
    handle **l = &handles;
    while (*l && *l != h) l = &(*l)->next;
    bool found = h != NULL && *l == h;
    if (found) *l = h->next;
    pthread_mutex_unlock(&lock);
    if (!found) return refuse(CUBLAS_STATUS_NOT_INITIALIZED, "cublasDestroy_v2: %p is not a live cuBLAS handle", (void *)h);
    free(h);  // queued GEMMs hold copies of what they need
    return CUBLAS_STATUS_SUCCESS;
}

SI_EXPORT int cublasGetVersion_v2(handle *h, int *version) {
    if (version == NULL) return refuse(CUBLAS_STATUS_INVALID_VALUE, "cublasGetVersion_v2: version is NULL");
    *version = CUBLAS_VERSION;
    return CUBLAS_STATUS_SUCCESS;
}

SI_EXPORT int cublasSetStream_v2(handle *h, void *stream) {
    if (!live(h)) return refuse(CUBLAS_STATUS_NOT_INITIALIZED, "cublasSetStream_v2: %p is not a live cuBLAS handle", (void *)h);
    h->stream = stream;  // checked when a GEMM is issued on it
    h->workspace = h->workspace_bytes = 0;
    return CUBLAS_STATUS_SUCCESS;
}

SI_EXPORT int cublasSetWorkspace_v2(handle *h, void *workspace, size_t bytes) {
    const char *fn = "cublasSetWorkspace_v2";
    if (!live(h)) return refuse(CUBLAS_STATUS_NOT_INITIALIZED, "%s: %p is not a live cuBLAS handle", fn, (void *)h);
    uint64_t address = (uintptr_t)workspace;
    if (address % 256 != 0) return refuse(CUBLAS_STATUS_INVALID_VALUE, "%s: %p is not aligned to 256 bytes", fn, workspace);
    if (bytes > 0 && (si_memory_kind_of(address, bytes) != SI_MEM_DEVICE || si_memory_device(address) != h->device)) {
        return refuse(CUBLAS_STATUS_INVALID_VALUE, "%s: %zu bytes at %p are not inside one allocation of device %d, the handle's", fn,
                      bytes, workspace, h->device);
    }
    h->workspace = address;
    h->workspace_bytes = bytes;
    return CUBLAS_STATUS_SUCCESS;
}

SI_EXPORT int cublasSetMathMode(handle *h, int mode) {
    if (!live(h)) return refuse(CUBLAS_STATUS_NOT_INITIALIZED, "cublasSetMathMode: %p is not a live cuBLAS handle", (void *)h);
    int base = mode & ~CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION;
    // DEFAULT 0, TENSOR_OP 1 (deprecated), PEDANTIC 2, TF32_TENSOR_OP 3, FP32_EMULATED_BF16X9 4,
    // FP64_EMULATED_FIXEDPOINT 8; only TF32 changes a result the stand-in computes.
    if (base < 0 || (base > 4 && base != 8)) {
        return refuse(CUBLAS_STATUS_INVALID_VALUE, "cublasSetMathMode: %d is not a cublasMath_t", mode);
    }
    h->math = mode;
    return CUBLAS_STATUS_SUCCESS;
}

static const struct {
    int status;
    const char *name, *text;
} statuses[] = {
    {0, "CUBLAS_STATUS_SUCCESS", "the operation completed successfully"},
    {1, "CUBLAS_STATUS_NOT_INITIALIZED", "the library was not initialized"},
    {3, "CUBLAS_STATUS_ALLOC_FAILED", "the resource allocation failed"},
    {7, "CUBLAS_STATUS_INVALID_VALUE", "an invalid numeric value was used as an argument"},
    {8, "CUBLAS_STATUS_ARCH_MISMATCH", "an absent device architectural feature is required"},
    {11, "CUBLAS_STATUS_MAPPING_ERROR", "an access to GPU memory space failed"},
    {13, "CUBLAS_STATUS_EXECUTION_FAILED", "the GPU program failed to execute"},
    {14, "CUBLAS_STATUS_INTERNAL_ERROR", "an internal operation failed"},
    {15, "CUBLAS_STATUS_NOT_SUPPORTED", "the functionality requested is not supported"},
    {16, "CUBLAS_STATUS_LICENSE_ERROR", "the functionality requested requires some license and an error was detected when trying to"
                                        " check the current licensing"},
};

SI_EXPORT const char *cublasGetStatusName(int status) {
    for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++) {
        if (statuses[i].status == status) return statuses[i].name;
    }
    return "CUBLAS_STATUS_UNKNOWN";
}

SI_EXPORT const char *cublasGetStatusString(int status) {
    for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++) {
        if (statuses[i].status == status) return statuses[i].text;
    }
    return "unknown error";
}

SI_EXPORT int cublasSgemm_v2(handle *h, int ta, int tb, int m, int n, int k, const float *alpha, const float *A, int lda,
                             const float *B, int ldb, const float *beta, float *C, int ldc) {
    return gemm("cublasSgemm_v2", h, ta, tb, m, n, k, alpha, (uintptr_t)A, CUDA_R_32F, lda, 0, (uintptr_t)B, CUDA_R_32F, ldb, 0,
                beta, (uintptr_t)C, CUDA_R_32F, ldc, 0, 1, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
}

SI_EXPORT int cublasGemmEx(handle *h, int ta, int tb, int m, int n, int k, const void *alpha, const void *A, int a_type, int lda,
                           const void *B, int b_type, int ldb, const void *beta, void *C, int c_type, int ldc, int compute, int algo) {
    return gemm("cublasGemmEx", h, ta, tb, m, n, k, alpha, (uintptr_t)A, a_type, lda, 0, (uintptr_t)B, b_type, ldb, 0, beta,
                (uintptr_t)C, c_type, ldc, 0, 1, compute, algo);
}

SI_EXPORT int cublasGemmStridedBatchedEx(handle *h, int ta, int tb, int m, int n, int k, const void *alpha, const void *A, int a_type,
                                         int lda, long long stride_a, const void *B, int b_type, int ldb, long long stride_b,
                                         const void *beta, void *C, int c_type, int ldc, long long stride_c, int batch, int compute,
                                         int algo) {
    return gemm("cublasGemmStridedBatchedEx", h, ta, tb, m, n, k, alpha, (uintptr_t)A, a_type, lda, stride_a, (uintptr_t)B, b_type,
                ldb, stride_b, beta, (uintptr_t)C, c_type, ldc, stride_c, batch, compute, algo);
}
