// standin.h: what the CUDA driver stand-in shares with the NCCL and cuBLAS stand-ins.
//
// The driver stand-in (driver.c, memory.c, streams.c, module.c) owns devices, contexts, memory,
// streams and events. NCCL and cuBLAS are separate libraries, as the real ones are; they link
// against the driver stand-in and reach its internals only through the si_* functions below
// (exported with default visibility, prefixed so no real library has them).
#pragma once

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define SI_EXPORT __attribute__((visibility("default")))

// CUresult values the stand-in returns (cuda.h, CUDA 13.0).
enum {
    SI_SUCCESS = 0,
    SI_ERROR_INVALID_VALUE = 1,
    SI_ERROR_OUT_OF_MEMORY = 2,
    SI_ERROR_NOT_INITIALIZED = 3,
    SI_ERROR_DEINITIALIZED = 4,
    SI_ERROR_NO_DEVICE = 100,
    SI_ERROR_INVALID_DEVICE = 101,
    SI_ERROR_INVALID_IMAGE = 200,
    SI_ERROR_INVALID_CONTEXT = 201,
    SI_ERROR_NO_BINARY_FOR_GPU = 209,
    SI_ERROR_INVALID_PTX = 218,
    SI_ERROR_UNSUPPORTED_PTX_VERSION = 222,
    SI_ERROR_INVALID_HANDLE = 400,
    SI_ERROR_NOT_FOUND = 500,
    SI_ERROR_NOT_READY = 600,
    SI_ERROR_ILLEGAL_ADDRESS = 700,
    SI_ERROR_LAUNCH_OUT_OF_RESOURCES = 701,
    SI_ERROR_LAUNCH_TIMEOUT = 702,
    SI_ERROR_MISALIGNED_ADDRESS = 716,
    SI_ERROR_LAUNCH_FAILED = 719,
    SI_ERROR_NOT_SUPPORTED = 801,
    SI_ERROR_UNKNOWN = 999,
};

typedef struct si_device si_device;
typedef struct si_context si_context;
typedef struct si_stream si_stream;
typedef struct si_clock si_clock;

// ---- configuration -----------------------------------------------------------------------

// How long a stand-in wait that a real GPU would wait forever (a collective missing a rank, a
// send without its receive) lasts before it fails: LONGBOW_STANDIN_TIMEOUT_MS, default 60000.
SI_EXPORT int64_t si_timeout_ms(void);

// Prints one line to stderr, prefixed "longbow stand-in: ". Every failure that a real GPU would
// report only as an error code is also explained this way.
SI_EXPORT void si_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// ---- contexts and devices ----------------------------------------------------------------

// The calling thread's current context (cuCtxSetCurrent), or NULL.
SI_EXPORT si_context *si_current(void);

// The device ordinal of a context.
SI_EXPORT int si_context_device(si_context *ctx);

// The context's sticky error (a fault in a kernel or copy), or SI_SUCCESS. Once set, every
// later call in the context returns it, as the real driver does, until the primary context is
// released by every retainer.
SI_EXPORT int si_context_error(si_context *ctx);

// Sets the context's sticky error (first one wins) and logs `why`.
SI_EXPORT void si_context_fail(si_context *ctx, int error, const char *why);

// ---- streams -----------------------------------------------------------------------------

// The stand-in stream behind a CUstream handle in the calling thread's current context (NULL:
// the legacy default stream). Returns NULL and sets *error (SI_ERROR_INVALID_CONTEXT without a
// current context, SI_ERROR_INVALID_HANDLE for a destroyed stream or one of another context).
SI_EXPORT si_stream *si_stream_of(void *cu_stream, int *error);

// Like si_stream_of, but the stream may belong to any live context (NCCL and cuBLAS take a
// stream and find their device from it).
SI_EXPORT si_stream *si_stream_any(void *cu_stream, int *error);

SI_EXPORT si_context *si_stream_context(si_stream *stream);

// Work run in order on a stream's worker thread. `run` returns SI_SUCCESS or the CUresult of a
// fault, which becomes the context's sticky error (with `what` in the log line); once a context
// has failed, its queued work is skipped. `release` (may be NULL) frees `arg` after the run (or
// the skip). `what` is copied.
typedef int (*si_work_fn)(void *arg);
typedef void (*si_release_fn)(void *arg);
SI_EXPORT int si_enqueue(si_stream *stream, si_work_fn run, void *arg, si_release_fn release, const char *what);

// Inside a work function: the buffer (512 bytes) for the reason of the fault it is about to
// return, which becomes the context's log line.
SI_EXPORT char *si_work_reason(void);

// Blocks until every operation enqueued on the stream so far has run.
SI_EXPORT int si_stream_wait(si_stream *stream);

// Calls that put work on a GPU (launches, copies, NCCL and cuBLAS calls) hold this shared;
// cuMemFree and cuMemFreeHost hold it exclusive while they wait for the device to drain, as
// the real driver serialises them. That is the documented single-process multi-GPU NCCL hang:
// a free in one thread blocks the launch another rank's collective is waiting for.
SI_EXPORT void si_launch_lock(void);
SI_EXPORT void si_launch_unlock(void);

// ---- memory ------------------------------------------------------------------------------

// How an operation touches a range of memory. A read-modify-write is a write.
typedef enum { SI_READ = 1, SI_WRITE = 2 } si_access;

// Memory a stream operation may touch: [address, address + bytes) must lie inside one live
// device allocation of any device, or inside pinned host memory (cuMemHostAlloc: mapped into
// every device's address space). Returns the host-visible pointer the stand-in reads and writes
// it through, or NULL after writing the reason into `why` (256 bytes) and setting *error to
// SI_ERROR_ILLEGAL_ADDRESS or, when address % align != 0, SI_ERROR_MISALIGNED_ADDRESS.
// bytes == 0 checks only the address. `access` is what the operation does with the range: an
// access that races with another stream's (races.c) is SI_ERROR_LAUNCH_FAILED.
SI_EXPORT void *si_memory(uint64_t address, uint64_t bytes, uint64_t align, si_access access, int *error, char *why);

// Whether [address, address + bytes) is device memory (a live allocation), pinned host memory,
// or neither (pageable host memory or garbage).
typedef enum { SI_MEM_NONE = 0, SI_MEM_DEVICE, SI_MEM_PINNED } si_memory_kind;
SI_EXPORT si_memory_kind si_memory_kind_of(uint64_t address, uint64_t bytes);

// The ordinal of the device whose address range holds `address` (allocated or not), or -1 for
// host memory: NCCL and cuBLAS take only their communicator's or handle's device memory.
SI_EXPORT int si_memory_device(uint64_t address);

// The byte freshly allocated and freed memory is filled with: 0xFF, a NaN in every float type
// and -1 in every integer, so reading memory nobody wrote shows.
#define SI_POISON 0xFF

// ---- happens-before ------------------------------------------------------------------------

// The race detector (races.c) orders stream operations by vector clocks. What orders streams
// outside the driver, NCCL's rendezvous, tells it through these, called from stream operations.

// A copy of the running operation's clock (an empty clock outside one), to give to a peer.
SI_EXPORT si_clock *si_clock_snapshot(void);
// Joins `clock` into the running operation's: what it had seen now happens before.
SI_EXPORT void si_clock_join_running(const si_clock *clock);
SI_EXPORT void si_clock_free(si_clock *clock);
