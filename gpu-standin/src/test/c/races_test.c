// races_test.c: the race detector (src/main/c/races.c) through the driver and NCCL APIs. Two
// streams that touch one buffer, at least one writing, without an event between them must fail
// with CUDA_ERROR_LAUNCH_FAILED and a "data race" line naming both operations, every time, even
// when the host sleeps between the two so that the first is long finished when the second
// starts; an event, a host synchronisation, the legacy stream's implicit order, or a collective
// or send/recv between two ranks must order them; two reads never race. Build and run: see
// gpu-standin/build.sh.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// ---- the APIs, declared by hand (cuda.h, nccl.h values) -----------------------------------

typedef void *CUcontext, *CUstream, *CUevent, *CUmodule, *CUfunction;
typedef uint64_t CUdeviceptr;
int cuInit(unsigned flags);
int cuDevicePrimaryCtxRetain(CUcontext *ctx, int device);
int cuDevicePrimaryCtxRelease_v2(int device);
int cuCtxSetCurrent(CUcontext ctx);
int cuCtxSynchronize(void);
int cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytes);
int cuMemFree_v2(CUdeviceptr dptr);
int cuMemHostAlloc(void **p, size_t bytes, unsigned flags);
int cuMemFreeHost(void *p);
int cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t bytes, CUstream stream);
int cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t bytes, CUstream stream);
int cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream stream);
int cuMemsetD32Async(CUdeviceptr dst, unsigned value, size_t count, CUstream stream);
int cuStreamCreate(CUstream *stream, unsigned flags);
int cuStreamDestroy_v2(CUstream stream);
int cuStreamSynchronize(CUstream stream);
int cuStreamWaitEvent(CUstream stream, CUevent event, unsigned flags);
int cuEventCreate(CUevent *event, unsigned flags);
int cuEventDestroy_v2(CUevent event);
int cuEventRecord(CUevent event, CUstream stream);
int cuModuleLoadDataEx(CUmodule *module, const void *image, unsigned n, int *options, void **values);
int cuModuleGetFunction(CUfunction *f, CUmodule module, const char *name);
int cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shared,
                   CUstream stream, void **params, void **extra);
enum { CUDA_ERROR_LAUNCH_FAILED = 719, NON_BLOCKING = 1, DISABLE_TIMING = 2 };

typedef struct ncclComm *ncclComm_t;
typedef struct {
    char internal[128];
} ncclUniqueId;
enum { ncclFloat32 = 7, ncclSum = 0 };
int ncclGetUniqueId(ncclUniqueId *id);
int ncclCommInitRank(ncclComm_t *comm, int nranks, ncclUniqueId id, int rank);
int ncclCommDestroy(ncclComm_t comm);
int ncclAllReduce(const void *send, void *recv, size_t count, int dtype, int op, ncclComm_t comm, CUstream stream);
int ncclSend(const void *send, size_t count, int dtype, int peer, ncclComm_t comm, CUstream stream);
int ncclRecv(void *recv, size_t count, int dtype, int peer, ncclComm_t comm, CUstream stream);
int ncclGroupStart(void);
int ncclGroupEnd(void);

// ---- checks, and the stand-in's log captured -----------------------------------------------

static int failures;
static char log_text[16384];  // the stand-in's lines of the last case

__attribute__((format(printf, 2, 3))) static void check(bool ok, const char *fmt, ...) {
    if (ok) return;
    va_list args;
    va_start(args, fmt);
    printf("FAIL: ");
    vprintf(fmt, args);
    printf("\nthe stand-in's lines:\n%s", log_text);
    va_end(args);
    failures++;
}

static FILE *log_file;
static int saved_stderr;

static void capture(void) {
    fflush(stderr);
    log_file = tmpfile();
    saved_stderr = dup(2);
    dup2(fileno(log_file), 2);
}

// The stand-in's lines since capture(). They are shown only when a check fails, so that a
// "data race" line in a build's output always means a race in the code under test.
static const char *captured(void) {
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    rewind(log_file);
    size_t n = fread(log_text, 1, sizeof log_text - 1, log_file);
    log_text[n] = '\0';
    fclose(log_file);
    return log_text;
}

static bool has(const char *text, const char *part) { return strstr(text, part) != NULL; }

// ---- one device ----------------------------------------------------------------------------

// The fill kernel of elementwise.cu as PTX the stand-in loads (it runs its CPU reading).
static const char fill_ptx[] =
    ".version 8.0\n.target sm_90\n.address_size 64\n"
    ".visible .entry longbow_fill_f32(\n\t.param .u64 p0,\n\t.param .u64 p1,\n\t.param .f32 p2\n)\n{\n\tret;\n}\n";

enum { COUNT = 1024, BYTES = COUNT * 4 };

typedef struct {
    CUcontext ctx;
    CUstream a, b;  // streams 1 and 2 of device 0
    CUevent event;
    CUmodule module;
    CUfunction fill;
    CUdeviceptr buf, other;
} device;

static device open_device(void) {
    device d = {0};
    cuDevicePrimaryCtxRetain(&d.ctx, 0);
    cuCtxSetCurrent(d.ctx);
    check(cuStreamCreate(&d.a, NON_BLOCKING) == 0 && cuStreamCreate(&d.b, NON_BLOCKING) == 0, "cuStreamCreate");
    check(cuEventCreate(&d.event, DISABLE_TIMING) == 0, "cuEventCreate");
    check(cuModuleLoadDataEx(&d.module, fill_ptx, 0, NULL, NULL) == 0 && cuModuleGetFunction(&d.fill, d.module, "longbow_fill_f32") == 0,
          "the fill kernel loads");
    check(cuMemAlloc_v2(&d.buf, BYTES) == 0 && cuMemAlloc_v2(&d.other, BYTES) == 0, "cuMemAlloc_v2");
    return d;
}

// Drains the device, returns cuCtxSynchronize's result (the sticky error, if any), and releases
// the context (the last release clears it).
static int close_device(device *d) {
    int result = cuCtxSynchronize();
    cuEventDestroy_v2(d->event);
    cuStreamDestroy_v2(d->a);
    cuStreamDestroy_v2(d->b);
    cuCtxSetCurrent(NULL);
    cuDevicePrimaryCtxRelease_v2(0);
    return result;
}

static void fill(device *d, CUstream stream, CUdeviceptr p, float value) {
    long long n = COUNT;
    void *params[] = {&p, &n, &value};
    check(cuLaunchKernel(d->fill, 4, 1, 1, 256, 1, 1, 0, stream, params, NULL) == 0, "cuLaunchKernel");
}

static void order(device *d, CUstream first, CUstream then) {
    cuEventRecord(d->event, first);
    cuStreamWaitEvent(then, d->event, 0);
}

// The kernel writes buf on stream 1, the copy reads it on stream 2 after the host slept long
// enough for the kernel to be done: a race no timing shows, reported whichever runs second.
static void unordered_write_then_read(void) {
    for (int round = 0; round < 10; round++) {
        device d = open_device();
        capture();
        fill(&d, d.a, d.buf, 1.f);
        usleep(round % 2 ? 20000 : 0);
        cuMemcpyDtoDAsync_v2(d.other, d.buf, BYTES, d.b);
        int result = close_device(&d);
        const char *log = captured();
        check(result == CUDA_ERROR_LAUNCH_FAILED, "round %d: a kernel's write and another stream's copy unordered: %d", round, result);
        check(has(log, "data race: ") && has(log, "kernel longbow_fill_f32 (device 0's stream 1") &&
                  has(log, "cuMemcpyDtoDAsync_v2 (device 0's stream 2") && has(log, "no event orders them") && has(log, " writes [") &&
                  has(log, " reads ["),
              "round %d: the race line names both operations, their streams, who writes and who reads", round);
    }
}

static void ordered_by_event(void) {
    device d = open_device();
    capture();
    fill(&d, d.a, d.buf, 2.f);
    order(&d, d.a, d.b);
    cuMemcpyDtoDAsync_v2(d.other, d.buf, BYTES, d.b);
    float host[COUNT];
    cuMemcpyDtoHAsync_v2(host, d.other, BYTES, d.b);
    order(&d, d.b, d.a);
    fill(&d, d.a, d.buf, 3.f);  // the next write waits for the copy too
    int result = close_device(&d);
    check(result == 0 && !has(captured(), "data race") && host[0] == 2.f && host[COUNT - 1] == 2.f,
          "cuEventRecord and cuStreamWaitEvent order a write and a read: %d, %g", result, host[0]);
}

static void reads_do_not_race(void) {
    device d = open_device();
    fill(&d, d.a, d.buf, 4.f);
    order(&d, d.a, d.b);
    capture();
    CUdeviceptr third;
    cuMemAlloc_v2(&third, BYTES);
    cuMemcpyDtoDAsync_v2(d.other, d.buf, BYTES, d.a);
    cuMemcpyDtoDAsync_v2(third, d.buf, BYTES, d.b);
    int result = close_device(&d);
    check(result == 0 && !has(captured(), "data race"), "two streams reading one buffer: %d", result);
}

static void ordered_by_host(void) {
    device d = open_device();
    capture();
    fill(&d, d.a, d.buf, 5.f);
    cuStreamSynchronize(d.a);
    cuMemcpyDtoDAsync_v2(d.other, d.buf, BYTES, d.b);
    int result = close_device(&d);
    check(result == 0 && !has(captured(), "data race"), "cuStreamSynchronize orders a write before another stream's read: %d", result);
}

// Longbow's pools hand a block to its next user without freeing it: a copy still reading it on
// another stream races with the next write. cuMemFree drains the device: what follows is ordered.
static void reused_while_read(void) {
    device d = open_device();
    fill(&d, d.a, d.buf, 6.f);
    order(&d, d.a, d.b);
    capture();
    cuMemcpyDtoDAsync_v2(d.other, d.buf, BYTES, d.b);
    usleep(20000);
    fill(&d, d.a, d.buf, 7.f);
    int result = close_device(&d);
    const char *log = captured();
    check(result == CUDA_ERROR_LAUNCH_FAILED && has(log, "data race: kernel longbow_fill_f32") &&
              has(log, "cuMemcpyDtoDAsync_v2 (device 0's stream 2, its op 2) reads"),
          "a block written while another stream's copy may still read it: %d", result);

    d = open_device();
    capture();
    fill(&d, d.a, d.buf, 8.f);
    cuMemFree_v2(d.buf);
    cuMemAlloc_v2(&d.buf, BYTES);
    cuMemcpyDtoDAsync_v2(d.other, d.buf, BYTES, d.b);
    result = close_device(&d);
    check(result == 0 && !has(captured(), "data race"), "cuMemFree orders the block's accesses before its next use: %d", result);
}

static void pinned_memory(void) {
    device d = open_device();
    float *pinned;
    cuMemHostAlloc((void **)&pinned, BYTES, 0);
    fill(&d, d.a, d.buf, 9.f);
    capture();
    cuMemcpyDtoHAsync_v2(pinned, d.buf, BYTES, d.a);
    cuMemcpyHtoDAsync_v2(d.other, pinned, BYTES, d.b);
    int result = close_device(&d);  // the pinned block stays: freeing it needs a context that has not failed
    check(result == CUDA_ERROR_LAUNCH_FAILED && has(captured(), "pinned host allocation"),
          "a copy into pinned memory and another stream's copy out of it, unordered: %d", result);
}

static void legacy_stream(void) {
    device d = open_device();
    CUstream blocking;
    cuStreamCreate(&blocking, 0);
    capture();
    fill(&d, blocking, d.buf, 10.f);
    cuMemcpyDtoDAsync_v2(d.other, d.buf, BYTES, NULL);  // the NULL stream waits for blocking streams
    fill(&d, blocking, d.buf, 11.f);                     // and they wait for it
    cuStreamDestroy_v2(blocking);
    int result = close_device(&d);
    check(result == 0 && !has(captured(), "data race"), "the legacy NULL stream orders against blocking streams: %d", result);
}

// ---- two ranks -----------------------------------------------------------------------------

enum { WRITE_BEFORE, WRITE_AFTER, SEND_RECV };

typedef struct {
    int rank, how, result;
    ncclUniqueId id;
    CUdeviceptr *shared;  // device 0's buffer that rank 1 reads
} rank_ctx;

static pthread_barrier_t issued;

// Rank 0 writes its buffer before (or after) a collective or a send; rank 1 reads that buffer,
// device 0's memory, after the collective or the receive, with no event of rank 0's to wait for.
static void *rank_main(void *arg) {
    rank_ctx *r = arg;
    CUcontext ctx;
    CUstream s;
    ncclComm_t comm;
    CUdeviceptr x, mine;
    cuDevicePrimaryCtxRetain(&ctx, r->rank);
    cuCtxSetCurrent(ctx);
    cuStreamCreate(&s, NON_BLOCKING);
    ncclCommInitRank(&comm, 2, r->id, r->rank);
    cuMemAlloc_v2(&x, 64);
    cuMemAlloc_v2(&mine, BYTES);
    cuMemsetD32Async(x, 0, 16, s);
    if (r->rank == 0) {
        *r->shared = mine;
        if (r->how != WRITE_AFTER) cuMemsetD32Async(mine, 0x3f800000, COUNT, s);
    }
    pthread_barrier_wait(&issued);
    if (r->how == SEND_RECV) {
        ncclGroupStart();
        if (r->rank == 0) ncclSend((void *)x, 16, ncclFloat32, 1, comm, s);
        else ncclRecv((void *)x, 16, ncclFloat32, 0, comm, s);
        ncclGroupEnd();
    } else {
        ncclAllReduce((void *)x, (void *)x, 16, ncclFloat32, ncclSum, comm, s);
    }
    if (r->rank == 0 && r->how == WRITE_AFTER) cuMemsetD32Async(mine, 0x3f800000, COUNT, s);
    if (r->rank == 1) cuMemcpyDtoDAsync_v2(mine, *r->shared, BYTES, s);
    r->result = cuStreamSynchronize(s);
    pthread_barrier_wait(&issued);  // rank 0's buffer outlives rank 1's copy
    ncclCommDestroy(comm);
    cuStreamDestroy_v2(s);
    cuCtxSetCurrent(NULL);
    cuDevicePrimaryCtxRelease_v2(r->rank);
    return NULL;
}

static void two_ranks(int how, bool race, const char *what) {
    rank_ctx ranks[2];
    pthread_t threads[2];
    CUdeviceptr shared = 0;
    ncclUniqueId id;
    ncclGetUniqueId(&id);
    pthread_barrier_init(&issued, NULL, 2);
    capture();
    for (int i = 0; i < 2; i++) {
        ranks[i] = (rank_ctx){.rank = i, .how = how, .id = id, .shared = &shared};
        pthread_create(&threads[i], NULL, rank_main, &ranks[i]);
    }
    for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&issued);
    const char *log = captured();
    bool failed = ranks[0].result == CUDA_ERROR_LAUNCH_FAILED || ranks[1].result == CUDA_ERROR_LAUNCH_FAILED;
    check(failed == race && has(log, "data race: ") == race, "%s: rank results %d and %d", what, ranks[0].result, ranks[1].result);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    setenv("LONGBOW_STANDIN_TIMEOUT_MS", "20000", 1);
    check(cuInit(0) == 0, "cuInit");
    unordered_write_then_read();
    ordered_by_event();
    reads_do_not_race();
    ordered_by_host();
    reused_while_read();
    pinned_memory();
    legacy_stream();
    two_ranks(WRITE_BEFORE, false, "a write before an all-reduce, a peer's read after it");
    two_ranks(WRITE_AFTER, true, "a write after an all-reduce, a peer's read after it");
    two_ranks(SEND_RECV, false, "a write before a send, the receiver's read after the receive");
    printf(failures ? "races_test: %d FAILED\n" : "races_test: all passed\n", failures);
    return failures != 0;
}
