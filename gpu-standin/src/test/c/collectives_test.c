// standin_collectives_test.c: the NCCL and cuBLAS stand-ins through their C APIs, linked against
// the three stand-in libraries, with ranks as threads on stand-in devices (default four sm_90):
// collectives against values computed here, grouped send/recv, split and InitAll; then what
// must fail: a send/recv pair outside a group (deadlock -> timeout), collectives whose counts
// differ, a rank that never joins or never calls, an abort; then cuBLAS GEMMs against a naive
// reference, and the calls cuBLAS refuses. Build and run: see gpu-standin/build.sh's header.
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

// ---- the APIs, declared by hand (cuda.h, nccl.h, cublas_api.h values) ----------------------

typedef void *CUcontext, *CUstream;
typedef uint64_t CUdeviceptr;
int cuInit(unsigned flags);
int cuDeviceGetCount(int *count);
int cuDevicePrimaryCtxRetain(CUcontext *ctx, int device);
int cuDevicePrimaryCtxRelease_v2(int device);
int cuCtxSetCurrent(CUcontext ctx);
int cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytes);
int cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t bytes, CUstream stream);
int cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t bytes, CUstream stream);
int cuStreamCreate(CUstream *stream, unsigned flags);
int cuStreamSynchronize(CUstream stream);
int cuStreamDestroy_v2(CUstream stream);
enum { CUDA_ERROR_LAUNCH_TIMEOUT = 702, CUDA_ERROR_LAUNCH_FAILED = 719 };

typedef struct ncclComm *ncclComm_t;
typedef struct {
    char internal[128];
} ncclUniqueId;
enum { ncclSuccess = 0, ncclSystemError = 2, ncclInvalidUsage = 5, ncclRemoteError = 6 };
enum { ncclInt8, ncclUint8, ncclInt32, ncclUint32, ncclInt64, ncclUint64, ncclFloat16, ncclFloat32, ncclFloat64, ncclBfloat16 };
enum { ncclSum, ncclProd, ncclMax, ncclMin, ncclAvg };
int ncclGetVersion(int *version);
int ncclGetUniqueId(ncclUniqueId *id);
int ncclCommInitRank(ncclComm_t *comm, int nranks, ncclUniqueId id, int rank);
int ncclCommInitAll(ncclComm_t *comms, int ndev, const int *devlist);
int ncclCommSplit(ncclComm_t comm, int color, int key, ncclComm_t *newcomm, void *config);
int ncclCommFinalize(ncclComm_t comm);
int ncclCommDestroy(ncclComm_t comm);
int ncclCommAbort(ncclComm_t comm);
int ncclCommGetAsyncError(ncclComm_t comm, int *error);
int ncclCommCount(ncclComm_t comm, int *count);
int ncclCommCuDevice(ncclComm_t comm, int *device);
int ncclCommUserRank(ncclComm_t comm, int *rank);
const char *ncclGetLastError(ncclComm_t comm);
int ncclAllReduce(const void *send, void *recv, size_t count, int dtype, int op, ncclComm_t comm, CUstream stream);
int ncclAllGather(const void *send, void *recv, size_t count, int dtype, ncclComm_t comm, CUstream stream);
int ncclReduceScatter(const void *send, void *recv, size_t count, int dtype, int op, ncclComm_t comm, CUstream stream);
int ncclSend(const void *send, size_t count, int dtype, int peer, ncclComm_t comm, CUstream stream);
int ncclRecv(void *recv, size_t count, int dtype, int peer, ncclComm_t comm, CUstream stream);
int ncclGroupStart(void);
int ncclGroupEnd(void);

typedef struct cublasContext *cublasHandle_t;
enum { CUBLAS_STATUS_NOT_INITIALIZED = 1, CUBLAS_STATUS_INVALID_VALUE = 7, CUBLAS_STATUS_EXECUTION_FAILED = 13,
       CUBLAS_STATUS_NOT_SUPPORTED = 15 };
enum { N = 0, T = 1 };
enum { CUDA_R_32F = 0, CUDA_R_16F = 2, CUDA_R_16BF = 14 };
enum { CUBLAS_COMPUTE_32F = 68, CUBLAS_COMPUTE_32F_FAST_TF32 = 77, CUBLAS_GEMM_DEFAULT = -1 };
int cublasCreate_v2(cublasHandle_t *handle);
int cublasDestroy_v2(cublasHandle_t handle);
int cublasSetStream_v2(cublasHandle_t handle, CUstream stream);
int cublasSgemm_v2(cublasHandle_t h, int ta, int tb, int m, int n, int k, const float *alpha, const float *A, int lda,
                   const float *B, int ldb, const float *beta, float *C, int ldc);
int cublasGemmEx(cublasHandle_t h, int ta, int tb, int m, int n, int k, const void *alpha, const void *A, int at, int lda,
                 const void *B, int bt, int ldb, const void *beta, void *C, int ct, int ldc, int compute, int algo);
int cublasGemmStridedBatchedEx(cublasHandle_t h, int ta, int tb, int m, int n, int k, const void *alpha, const void *A, int at,
                               int lda, long long sa, const void *B, int bt, int ldb, long long sb, const void *beta, void *C,
                               int ct, int ldc, long long sc, int batch, int compute, int algo);

// ---- checks and helpers --------------------------------------------------------------------

static int failures;
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((format(printf, 2, 3))) static void check(bool ok, const char *fmt, ...) {
    if (ok) return;
    va_list args;
    va_start(args, fmt);
    pthread_mutex_lock(&print_lock);
    printf("FAIL: ");
    vprintf(fmt, args);
    printf("\n");
    failures++;
    pthread_mutex_unlock(&print_lock);
    va_end(args);
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static const size_t sizes[] = {1, 1, 4, 4, 8, 8, 2, 4, 8, 2};

// Values here are small integers and halves: exact in every type, so results compare exactly.
static void store(int t, void *p, size_t i, double v) {
    float f = (float)v;
    uint32_t bits;
    memcpy(&bits, &f, 4);
    switch (t) {
        case ncclInt8: ((int8_t *)p)[i] = (int8_t)v; break;
        case ncclUint8: ((uint8_t *)p)[i] = (uint8_t)(int64_t)v; break;
        case ncclInt32: ((int32_t *)p)[i] = (int32_t)v; break;
        case ncclUint32: ((uint32_t *)p)[i] = (uint32_t)(int64_t)v; break;
        case ncclInt64: case ncclUint64: ((int64_t *)p)[i] = (int64_t)v; break;
        case ncclFloat16: ((_Float16 *)p)[i] = (_Float16)f; break;
        case ncclFloat32: ((float *)p)[i] = f; break;
        case ncclFloat64: ((double *)p)[i] = v; break;
        default: ((uint16_t *)p)[i] = (uint16_t)(bits >> 16); break;  // bfloat16
    }
}

static double load(int t, const void *p, size_t i) {
    uint32_t bits;
    float f;
    switch (t) {
        case ncclInt8: return ((const int8_t *)p)[i];
        case ncclUint8: return ((const uint8_t *)p)[i];
        case ncclInt32: return ((const int32_t *)p)[i];
        case ncclUint32: return ((const uint32_t *)p)[i];
        case ncclInt64: case ncclUint64: return (double)((const int64_t *)p)[i];
        case ncclFloat16: return ((const _Float16 *)p)[i];
        case ncclFloat32: return ((const float *)p)[i];
        case ncclFloat64: return ((const double *)p)[i];
        default: bits = (uint32_t)((const uint16_t *)p)[i] << 16; memcpy(&f, &bits, 4); return f;
    }
}

static CUdeviceptr device_alloc(size_t bytes) {
    CUdeviceptr d = 0;
    check(cuMemAlloc_v2(&d, bytes) == 0, "cuMemAlloc_v2(%zu)", bytes);
    return d;
}

// ---- ranks -------------------------------------------------------------------------------

typedef struct rank_ctx {
    int rank, nranks, device, init;
    ncclUniqueId id;
    CUstream stream;
    ncclComm_t comm;
    void (*body)(struct rank_ctx *);
} rank_ctx;

static void *rank_main(void *arg) {
    rank_ctx *r = arg;
    CUcontext ctx;
    cuDevicePrimaryCtxRetain(&ctx, r->device);
    cuCtxSetCurrent(ctx);
    cuStreamCreate(&r->stream, 1);
    r->init = ncclCommInitRank(&r->comm, r->nranks, r->id, r->rank);
    r->body(r);
    if (r->comm) check(ncclCommDestroy(r->comm) == ncclSuccess, "rank %d: ncclCommDestroy", r->rank);
    cuStreamDestroy_v2(r->stream);
    cuCtxSetCurrent(NULL);
    cuDevicePrimaryCtxRelease_v2(r->device);  // the last release clears a sticky error for the next test
    return NULL;
}

// Runs `body` on `joining` of `nranks` ranks (rank i on device i), each after ncclCommInitRank.
static void run_ranks(const char *name, int nranks, int joining, const char *timeout_ms, void (*body)(rank_ctx *)) {
    setenv("LONGBOW_STANDIN_TIMEOUT_MS", timeout_ms, 1);  // no rank runs now: nobody reads it meanwhile
    ncclUniqueId id;
    check(ncclGetUniqueId(&id) == ncclSuccess, "ncclGetUniqueId");
    rank_ctx ranks[8];
    pthread_t threads[8];
    double start = now_ms();
    for (int i = 0; i < joining; i++) {
        ranks[i] = (rank_ctx){.rank = i, .nranks = nranks, .device = i, .id = id, .body = body};
        pthread_create(&threads[i], NULL, rank_main, &ranks[i]);
    }
    for (int i = 0; i < joining; i++) pthread_join(threads[i], NULL);
    printf("%-44s %4d ranks %7.0f ms\n", name, joining, now_ms() - start);
}

typedef double (*gen)(int rank, size_t i);

static double gen_f(int r, size_t i) { return r + 0.5 * (double)(i % 9); }
static double gen_small(int r, size_t i) { return (r + 1) * (double)(i % 5); }
static double gen_mixed(int r, size_t i) { return (double)((int64_t)(i * 7 + (size_t)r * 13) % 23 - 11); }
static double gen_wrap(int r, size_t i) { return 100 + 50 * r + (double)(i % 3); }
static double gen_prod(int r, size_t i) { return (i % 2 ? -1 : 1) * (r + 2.0); }

// What rank-wise `op` over gen(r, j) gives, with the integer wrap-around of the type.
static double expected_reduce(int t, int op, int n, gen g, size_t j) {
    double a = g(0, j);
    for (int r = 1; r < n; r++) {
        double b = g(r, j);
        a = op == ncclProd ? a * b : op == ncclMax ? fmax(a, b) : op == ncclMin ? fmin(a, b) : a + b;
    }
    if (t <= ncclUint64) {
        int64_t w = (int64_t)a;
        w = t == ncclInt8 ? (int8_t)w : t == ncclUint8 ? (uint8_t)w : t == ncclInt32 ? (int32_t)w : t == ncclUint32 ? (uint32_t)w : w;
        return op == ncclAvg ? (double)(w / n) : (double)w;
    }
    return op == ncclAvg ? a / n : a;
}

enum { AR, AG, RS };

// One collective on this rank: its send buffer holds g(rank, i); in place, the two buffers sit
// where NCCL's in-place definitions put them.
static void collective(rank_ctx *r, int kind, int t, int op, bool in_place, size_t count, gen g) {
    int n = r->nranks, me = r->rank;
    size_t size = sizes[t], in = kind == RS ? n * count : count, out = kind == AG ? n * count : count;
    CUdeviceptr base = device_alloc((in_place ? (kind == AG ? out : in) : in + out) * size);
    CUdeviceptr send = base, recv = in_place ? base : base + in * size;
    if (in_place && kind == AG) send = base + me * count * size;
    if (in_place && kind == RS) recv = base + me * count * size;
    uint8_t *host = malloc((in > out ? in : out) * size);
    for (size_t i = 0; i < in; i++) store(t, host, i, g(me, i));
    cuMemcpyHtoDAsync_v2(send, host, in * size, r->stream);
    int rc = kind == AR ? ncclAllReduce((void *)send, (void *)recv, count, t, op, r->comm, r->stream)
           : kind == AG ? ncclAllGather((void *)send, (void *)recv, count, t, r->comm, r->stream)
                        : ncclReduceScatter((void *)send, (void *)recv, count, t, op, r->comm, r->stream);
    check(rc == ncclSuccess, "rank %d: collective %d type %d: %d", me, kind, t, rc);
    check(cuMemcpyDtoHAsync_v2(host, recv, out * size, r->stream) == 0, "rank %d: collective %d type %d faulted", me, kind, t);
    int wrong = 0;
    for (size_t i = 0; i < out; i++) {
        double want = kind == AG ? g((int)(i / count), i % count) : expected_reduce(t, op, n, g, kind == RS ? me * count + i : i);
        if (load(t, host, i) != want && wrong++ == 0) {
            check(false, "rank %d: collective %d type %d op %d%s: element %zu is %g, expected %g", me, kind, t, op,
                  in_place ? " in place" : "", i, load(t, host, i), want);
        }
    }
    free(host);
}

// Sends count floats g(me, i) to each of `peers` and receives from each of `froms`, in one group.
static void exchange(rank_ctx *r, ncclComm_t comm, int npeers, const int *peers, const int *froms, size_t count) {
    size_t bytes = count * 4;
    CUdeviceptr send = device_alloc(bytes), recv = device_alloc(npeers * bytes);
    float *host = malloc(npeers * bytes);
    for (size_t i = 0; i < count; i++) host[i] = (float)gen_f(r->rank, i);
    cuMemcpyHtoDAsync_v2(send, host, bytes, r->stream);
    ncclGroupStart();
    for (int p = 0; p < npeers; p++) {
        ncclSend((void *)send, count, ncclFloat32, peers[p], comm, r->stream);
        ncclRecv((void *)(recv + p * bytes), count, ncclFloat32, froms[p], comm, r->stream);
    }
    check(ncclGroupEnd() == ncclSuccess, "rank %d: ncclGroupEnd", r->rank);
    check(cuMemcpyDtoHAsync_v2(host, recv, npeers * bytes, r->stream) == 0, "rank %d: send/recv faulted", r->rank);
    for (int p = 0; p < npeers; p++) {
        for (size_t i = 0; i < count; i++) {
            if (host[p * count + i] != (float)gen_f(froms[p], i)) {
                check(false, "rank %d: element %zu from rank %d is %g", r->rank, i, froms[p], host[p * count + i]);
                break;
            }
        }
    }
    free(host);
}

// ---- NCCL tests --------------------------------------------------------------------------

static void works(rank_ctx *r) {
    check(r->init == ncclSuccess, "rank %d: ncclCommInitRank: %d", r->rank, r->init);
    int n, me, dev, async;
    ncclCommCount(r->comm, &n);
    ncclCommUserRank(r->comm, &me);
    ncclCommCuDevice(r->comm, &dev);
    check(n == r->nranks && me == r->rank && dev == r->device, "rank %d: count %d, rank %d, device %d", r->rank, n, me, dev);
    collective(r, AR, ncclFloat32, ncclSum, false, 1000, gen_f);
    collective(r, AR, ncclBfloat16, ncclSum, true, 777, gen_small);
    collective(r, AR, ncclInt32, ncclMax, false, 100, gen_mixed);
    collective(r, AR, ncclInt8, ncclMin, true, 100, gen_mixed);
    collective(r, AR, ncclUint8, ncclSum, false, 64, gen_wrap);
    collective(r, AR, ncclFloat16, ncclAvg, false, 64, gen_small);
    collective(r, AR, ncclInt64, ncclProd, false, 10, gen_prod);
    collective(r, AR, ncclFloat64, ncclMin, false, 10, gen_mixed);
    collective(r, AG, ncclFloat32, 0, false, 300, gen_f);
    collective(r, AG, ncclBfloat16, 0, true, 300, gen_small);
    collective(r, RS, ncclFloat32, ncclSum, false, 250, gen_f);
    collective(r, RS, ncclInt32, ncclMax, true, 250, gen_mixed);

    int next = (r->rank + 1) % n, prev = (r->rank + n - 1) % n, all[8];
    exchange(r, r->comm, 1, &next, &prev, 4096);  // a ring
    for (int p = 0; p < n; p++) all[p] = p;
    exchange(r, r->comm, n, all, all, 100);       // all to all, to itself too

    ncclComm_t half = NULL, none = NULL;  // color by parity; key -rank reverses the order
    check(ncclCommSplit(r->comm, r->rank % 2, -r->rank, &half, NULL) == ncclSuccess && half, "rank %d: split", r->rank);
    int size = 0, rank = -1, want = 0;
    ncclCommCount(half, &size);
    ncclCommUserRank(half, &rank);
    for (int p = r->rank + 2; p < n; p += 2) want++;
    check(size == (n + 1 - r->rank % 2) / 2 && rank == want, "rank %d: split gives rank %d of %d", r->rank, rank, size);
    rank_ctx sub = *r;
    sub.comm = half;
    sub.nranks = size;
    sub.rank = rank;
    collective(&sub, AR, ncclFloat32, ncclSum, false, 50, gen_small);
    check(ncclCommSplit(r->comm, r->rank == 0 ? -1 : 0, 0, &none, NULL) == ncclSuccess && (r->rank == 0) == (none == NULL),
          "rank %d: split with NCCL_SPLIT_NOCOLOR", r->rank);
    ncclCommDestroy(half);
    if (none) ncclCommDestroy(none);
    ncclCommGetAsyncError(r->comm, &async);
    check(async == ncclSuccess, "rank %d: async error %d", r->rank, async);
    check(ncclCommFinalize(r->comm) == ncclSuccess, "rank %d: finalize", r->rank);
}

static void deadlock(rank_ctx *r) {  // each rank sends first, outside a group
    CUdeviceptr a = device_alloc(64), b = device_alloc(64);
    int peer = 1 - r->rank, async = 0;
    check(ncclSend((void *)a, 16, ncclFloat32, peer, r->comm, r->stream) == ncclSuccess, "send is enqueued");
    check(ncclRecv((void *)b, 16, ncclFloat32, peer, r->comm, r->stream) == ncclSuccess, "recv is enqueued");
    int rc = cuStreamSynchronize(r->stream);
    ncclCommGetAsyncError(r->comm, &async);
    check(rc == CUDA_ERROR_LAUNCH_TIMEOUT && async == ncclRemoteError && strstr(ncclGetLastError(NULL), "outside ncclGroupStart"),
          "rank %d: deadlocked send/recv: stream %d, async %d, '%s'", r->rank, rc, async, ncclGetLastError(NULL));
}

static void mismatch(rank_ctx *r) {  // rank 1 reduces twice as many elements
    CUdeviceptr a = device_alloc(64 * 4);
    int async = 0;
    ncclAllReduce((void *)a, (void *)a, r->rank ? 16 : 8, ncclFloat32, ncclSum, r->comm, r->stream);
    int rc = cuStreamSynchronize(r->stream);
    ncclCommGetAsyncError(r->comm, &async);
    check(rc == CUDA_ERROR_LAUNCH_FAILED && async == ncclInvalidUsage, "rank %d: mismatch: stream %d, async %d", r->rank, rc, async);
}

static void missing_collective(rank_ctx *r) {  // rank 1 never calls
    CUdeviceptr a = device_alloc(64);
    int async = 0;
    if (r->rank == 1) return;
    ncclAllReduce((void *)a, (void *)a, 16, ncclFloat32, ncclSum, r->comm, r->stream);
    int rc = cuStreamSynchronize(r->stream);
    ncclCommGetAsyncError(r->comm, &async);
    check(rc == CUDA_ERROR_LAUNCH_TIMEOUT && async == ncclRemoteError, "missing rank: stream %d, async %d", rc, async);
}

static void aborted(rank_ctx *r) {  // rank 0 waits for rank 1, which never calls, then aborts
    CUdeviceptr a = device_alloc(64);
    if (r->rank == 1) return;
    double start = now_ms();
    ncclAllReduce((void *)a, (void *)a, 16, ncclFloat32, ncclSum, r->comm, r->stream);
    usleep(50000);
    check(ncclCommAbort(r->comm) == ncclSuccess, "ncclCommAbort");
    r->comm = NULL;
    int rc = cuStreamSynchronize(r->stream);
    check(rc == 0 && now_ms() - start < 3000, "abort ends the waiting all-reduce: stream %d after %.0f ms", rc, now_ms() - start);
}

static void never_joined(rank_ctx *r) {
    check(r->init == ncclSystemError && r->comm == NULL, "rank %d: init without rank 2 gives %d", r->rank, r->init);
}

static void init_all(void) {  // one thread drives two devices, in one group
    int devs[2] = {2, 3}, got = -1;
    ncclComm_t comms[2];
    CUcontext ctx[2];
    CUstream streams[2];
    CUdeviceptr bufs[2];
    check(ncclCommInitAll(comms, 2, devs) == ncclSuccess, "ncclCommInitAll");
    ncclCommCuDevice(comms[1], &got);
    check(got == 3, "InitAll rank 1 on device %d", got);
    for (int i = 0; i < 2; i++) {
        cuDevicePrimaryCtxRetain(&ctx[i], devs[i]);
        cuCtxSetCurrent(ctx[i]);
        cuStreamCreate(&streams[i], 1);
        bufs[i] = device_alloc(4);
        float v = (float)(i + 1);
        cuMemcpyHtoDAsync_v2(bufs[i], &v, 4, streams[i]);
    }
    ncclGroupStart();
    for (int i = 0; i < 2; i++) ncclAllReduce((void *)bufs[i], (void *)bufs[i], 1, ncclFloat32, ncclSum, comms[i], streams[i]);
    check(ncclGroupEnd() == ncclSuccess, "InitAll group");
    for (int i = 0; i < 2; i++) {
        float v = 0;
        cuCtxSetCurrent(ctx[i]);
        cuMemcpyDtoHAsync_v2(&v, bufs[i], 4, streams[i]);
        check(v == 3.f, "InitAll all-reduce on device %d gives %g", devs[i], v);
        ncclCommDestroy(comms[i]);
        cuStreamDestroy_v2(streams[i]);
        cuDevicePrimaryCtxRelease_v2(devs[i]);
    }
    cuCtxSetCurrent(NULL);
}

// ---- cuBLAS tests --------------------------------------------------------------------------

static uint32_t seed = 12345;
static double uniform(void) {
    seed = seed * 1664525u + 1013904223u;
    return (double)(seed >> 8) / (1 << 24) * 2 - 1;
}

static const int nccl_type[15] = {[CUDA_R_32F] = ncclFloat32, [CUDA_R_16F] = ncclFloat16, [CUDA_R_16BF] = ncclBfloat16};

// Runs one GEMM (a batch of `batch` when batch > 0, cublasGemmEx when batch == 0) with random
// operands, and compares C with a double-precision reference of the stored values.
static void gemm_case(cublasHandle_t h, CUstream s, int ta, int tb, int m, int n, int k, int lda, int ldb, int ldc, int in_type,
                      int out_type, float alpha, float beta, int batch) {
    int in = nccl_type[in_type], out = nccl_type[out_type], count = batch > 0 ? batch : 1;
    long long sa = (long long)lda * (ta == N ? k : m), sb = (long long)ldb * (tb == N ? n : k), sc = (long long)ldc * n;
    size_t isz = sizes[in], osz = sizes[out];
    uint8_t *A = malloc(sa * count * isz), *B = malloc(sb * count * isz), *C = malloc(sc * count * osz), *R = malloc(sc * count * osz);
    for (long long i = 0; i < sa * count; i++) store(in, A, i, uniform());
    for (long long i = 0; i < sb * count; i++) store(in, B, i, uniform());
    for (long long i = 0; i < sc * count; i++) store(out, C, i, beta == 0 ? NAN : uniform());  // beta 0: C is never read
    CUdeviceptr dA = device_alloc(sa * count * isz), dB = device_alloc(sb * count * isz), dC = device_alloc(sc * count * osz);
    cuMemcpyHtoDAsync_v2(dA, A, sa * count * isz, s);
    cuMemcpyHtoDAsync_v2(dB, B, sb * count * isz, s);
    cuMemcpyHtoDAsync_v2(dC, C, sc * count * osz, s);
    void *a = (void *)dA, *b = (void *)dB, *c = (void *)dC;
    int rc = batch > 0 ? cublasGemmStridedBatchedEx(h, ta, tb, m, n, k, &alpha, a, in_type, lda, sa, b, in_type, ldb, sb, &beta, c,
                                                    out_type, ldc, sc, batch, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT)
           : in_type == CUDA_R_32F && out_type == CUDA_R_32F
               ? cublasSgemm_v2(h, ta, tb, m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc)
               : cublasGemmEx(h, ta, tb, m, n, k, &alpha, a, in_type, lda, b, in_type, ldb, &beta, c, out_type, ldc, CUBLAS_COMPUTE_32F,
                              CUBLAS_GEMM_DEFAULT);
    check(rc == 0, "gemm %dx%dx%d: status %d", m, n, k, rc);
    check(cuMemcpyDtoHAsync_v2(R, dC, sc * count * osz, s) == 0, "gemm %dx%dx%d faulted", m, n, k);
    double worst = 0, tolerance = out == ncclFloat32 ? 1e-4 : 4e-3;
    for (int b = 0; b < count; b++) {
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < m; i++) {
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    sum += load(in, A, b * sa + (ta == N ? i + (long long)p * lda : p + (long long)i * lda)) *
                           load(in, B, b * sb + (tb == N ? p + (long long)j * ldb : j + (long long)p * ldb));
                }
                long long at = b * sc + i + (long long)j * ldc;
                double want = alpha * sum + (beta == 0 ? 0 : beta * load(out, C, at)), got = load(out, R, at);
                double error = fabs(got - want) / fmax(1, fabs(want));
                worst = isnan(got) ? INFINITY : fmax(worst, error);
            }
        }
    }
    check(worst <= tolerance, "gemm %c%c %dx%dx%d types %d->%d batch %d: relative error %g", ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k,
          in_type, out_type, batch, worst);
    free(A);
    free(B);
    free(C);
    free(R);
}

static void cublas_tests(void) {
    double start = now_ms();
    cublasHandle_t h, other;
    CUcontext ctx0, ctx1;
    CUstream s;
    check(cublasCreate_v2(&h) == CUBLAS_STATUS_NOT_INITIALIZED, "cublasCreate_v2 without a current context");
    cuDevicePrimaryCtxRetain(&ctx1, 1);
    cuCtxSetCurrent(ctx1);
    check(cublasCreate_v2(&other) == 0, "cublasCreate_v2 on device 1");
    cuDevicePrimaryCtxRetain(&ctx0, 0);
    cuCtxSetCurrent(ctx0);
    cuStreamCreate(&s, 1);
    check(cublasCreate_v2(&h) == 0 && cublasSetStream_v2(h, s) == 0, "cublasCreate_v2");
    gemm_case(h, s, N, N, 37, 29, 45, 40, 50, 39, CUDA_R_32F, CUDA_R_32F, 1.5f, 0.5f, 0);
    gemm_case(h, s, T, N, 70, 33, 130, 133, 131, 72, CUDA_R_16BF, CUDA_R_32F, 1.f, 0.f, 0);
    gemm_case(h, s, N, T, 65, 66, 20, 65, 70, 65, CUDA_R_16F, CUDA_R_16F, 0.75f, -1.f, 0);
    gemm_case(h, s, T, T, 9, 17, 140, 141, 17, 10, CUDA_R_16BF, CUDA_R_16BF, 1.f, 0.f, 0);
    gemm_case(h, s, T, T, 12, 7, 5, 5, 8, 13, CUDA_R_32F, CUDA_R_32F, 2.f, 1.f, 3);

    float one = 1, zero = 0;
    CUdeviceptr d = device_alloc(4096);
    check(cublasSgemm_v2(h, N, N, 8, 8, 8, &one, (float *)d, 7, (float *)d, 8, &zero, (float *)d, 8) == CUBLAS_STATUS_INVALID_VALUE,
          "lda 7 < m 8 is refused");
    check(cublasGemmEx(h, N, N, 8, 8, 8, &one, (void *)d, CUDA_R_16BF, 8, (void *)d, CUDA_R_16BF, 8, &zero, (void *)d, CUDA_R_32F, 8,
                       CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_NOT_SUPPORTED,
          "16BF inputs under CUBLAS_COMPUTE_32F_FAST_TF32 are not supported");
    check(cublasSgemm_v2(other, N, N, 8, 8, 8, &one, (float *)d, 8, (float *)d, 8, &zero, (float *)d, 8) ==
              CUBLAS_STATUS_EXECUTION_FAILED, "a device 1 handle with device 0's context current fails");
    float x = 1 + 1.f / 4096, y = 0;  // below TF32's 10-bit mantissa
    cuMemcpyHtoDAsync_v2(d, &x, 4, s);
    cuMemcpyHtoDAsync_v2(d + 256, &one, 4, s);
    cublasGemmEx(h, N, N, 1, 1, 1, &one, (void *)d, CUDA_R_32F, 1, (void *)(d + 256), CUDA_R_32F, 1, &zero, (void *)(d + 512),
                 CUDA_R_32F, 1, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT);
    cuMemcpyDtoHAsync_v2(&y, d + 512, 4, s);
    check(y == 1.f, "FAST_TF32 reads 1 + 2^-12 as 1, got %.9g", y);
    check(cuStreamSynchronize(s) == 0 && cublasDestroy_v2(h) == 0 && cublasDestroy_v2(other) == 0, "cuBLAS teardown");
    cuStreamDestroy_v2(s);
    cuCtxSetCurrent(NULL);
    cuDevicePrimaryCtxRelease_v2(0);
    cuDevicePrimaryCtxRelease_v2(1);
    printf("%-44s %13.0f ms\n", "cuBLAS GEMMs and refusals", now_ms() - start);
}

int main(void) {
    int devices = 0, version = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);  // in order with the stand-in's log lines on stderr
    check(cuInit(0) == 0 && cuDeviceGetCount(&devices) == 0 && devices >= 4, "four stand-in devices (found %d)", devices);
    check(ncclGetVersion(&version) == 0 && version == 22907, "NCCL version %d", version);
    if (failures) return 1;
    run_ranks("collectives, send/recv, split", 4, 4, "20000", works);
    run_ranks("collectives on 3 ranks", 3, 3, "20000", works);
    init_all();
    run_ranks("send/recv outside a group deadlocks", 2, 2, "300", deadlock);
    run_ranks("mismatched all-reduce counts", 2, 2, "300", mismatch);
    run_ranks("a rank never calls the all-reduce", 2, 2, "300", missing_collective);
    run_ranks("ncclCommAbort ends a waiting all-reduce", 2, 2, "20000", aborted);
    run_ranks("a rank never joins", 3, 2, "300", never_joined);
    setenv("LONGBOW_STANDIN_TIMEOUT_MS", "20000", 1);
    cublas_tests();
    printf(failures ? "standin_collectives_test: %d FAILED\n" : "collectives_test: all passed\n", failures);
    return failures != 0;
}
