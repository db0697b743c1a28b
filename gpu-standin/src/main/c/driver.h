// driver.h: the driver stand-in's own state, private to driver.c, memory.c, streams.c, module.c.
#pragma once

#include <stdatomic.h>
#include <stdbool.h>

#include "kernel.h"
#include "standin.h"

#define SI_MAX_DEVICES 16

typedef struct si_history si_history;

// A live device allocation: [address, address + bytes) of the device's address range (or a
// pinned host allocation), with the accesses stream operations made to it (races.c).
typedef struct {
    uint64_t address, bytes;
    si_history *history;    // NULL until the first access
} si_allocation;

// A device's memory: `range` is what device pointers point into (a mapping of an empty file, so
// any host access faults with SIGBUS, which the JVM reports as an InternalError); `backing` holds
// the bytes at the same offsets, reached only by the stand-in.
typedef struct {
    uint8_t *range, *backing;
    uint64_t range_bytes;   // address space: several times `total`, so freed addresses return late
    uint64_t total, used;
    uint64_t next;          // next-fit rover (offset into range)
    si_allocation *live;    // sorted by address
    int count, capacity;
} si_heap;

struct si_context {
    si_device *device;
    int retains;            // primary context retains; 0: destroyed (handles into it are stale)
    uint64_t generation;    // counts destructions: objects made in an older generation are stale
    atomic_int error;       // sticky
    si_stream *legacy;      // the NULL stream (created with the context)
    int streams;            // streams made in this generation: their numbers in messages
};

struct si_device {
    int ordinal;
    char name[96];
    int major, minor, sms;
    int shared_optin;       // CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN
    int shared_per_sm;
    si_heap heap;
    si_context context;     // the primary context
};

// Process-wide state, guarded by si_lock (except where a field says otherwise).
typedef struct {
    bool initialized;
    int device_count;
    si_device devices[SI_MAX_DEVICES];
} si_driver;

extern si_driver si_state;
extern pthread_mutex_t si_lock;

// Handles (CUstream, CUevent, CUmodule, CUfunction) are pointers to stand-in objects; the
// registry knows which are live, so a destroyed or foreign handle is an error, not a crash.
void si_register(void *handle);
void si_unregister(void *handle);
bool si_registered(void *handle);

// The current context, if it is live; else NULL with *error set (INVALID_CONTEXT, or the
// context's sticky error when `sticky_fails`).
si_context *si_require_current(int *error, bool sticky_fails);

// Streams: created per context; the context keeps no list, the registry does. The legacy NULL
// stream is number 0 of its context, the others 1, 2, ... in the order they were made.
si_stream *si_stream_create(si_context *ctx, unsigned flags, bool legacy);
void si_stream_destroy(si_stream *stream);
// Waits until every stream of the device (or of every device, when device is NULL) is idle.
void si_device_drain(si_device *device);
// Ends every stream of a context whose last retain is gone (their workers finish queued work).
void si_context_streams_end(si_context *ctx);

// The launch lock held exclusive: by cuMemFree and cuMemFreeHost while they drain.
void si_launch_lock_exclusive(void);
void si_launch_unlock_exclusive(void);

// Memory.
void si_heap_init(si_device *device);
// Frees every allocation of the device (the primary context is destroyed).
void si_heap_reset(si_device *device);
// Pinned host memory and the page size used for it.
bool si_pinned_contains(uint64_t address, uint64_t bytes);

// Modules: everything module.c exports to the others.
const si_kernel *si_kernel_find(const char *name);

// Time since the process started using the stand-in, for event timestamps.
double si_now_ms(void);

// A stand-in random number in [0, bound), for the jitter that makes races show.
uint32_t si_random(uint32_t bound);

// ---- happens-before race detection (races.c) ------------------------------------------------

// A vector clock: epochs[i] is the last operation of stream i (ids from 1, never reused) that
// is known to happen before; streams at or past `size` are 0 (none).
struct si_clock {
    uint32_t size;
    uint32_t *epochs;
};

uint32_t si_clock_get(const si_clock *c, uint32_t stream);
void si_clock_set(si_clock *c, uint32_t stream, uint32_t epoch);
bool si_clock_join(si_clock *into, const si_clock *from);  // true if `into` changed
void si_clock_copy(si_clock *into, const si_clock *from);
void si_clock_release(si_clock *c);                         // frees the epochs

// The operation a stream's worker is running (streams.c sets it for the run): what memory
// accesses are checked against and clocks are joined into.
typedef struct {
    uint32_t stream;        // the stream's id
    int device, number;     // the stream for messages: its device, its number in the context
    const char *what;       // the operation, interned ("kernel longbow_fill_f32")
    si_clock *clock;        // the stream's clock, this operation's epoch included
    bool joined;            // it joined another clock (the stream then publishes all of its clock)
} si_op;

si_op *si_running(void);    // NULL on a thread that is not running a stream operation

// The one copy of an operation name, kept for the process's life.
const char *si_intern(const char *text);

// The host's clock (every host thread's together): operations take a snapshot when enqueued
// and join it when they run; host synchronisations observe the clock of what they saw complete.
typedef struct si_host_clock si_host_clock;
si_host_clock *si_host_snapshot(void);  // referenced: release it
void si_host_release(si_host_clock *h);
// Joins h into `into` unless a version at least as new was joined already (*seen).
bool si_host_join(si_clock *into, const si_host_clock *h, uint64_t *seen);
void si_host_observe(const si_clock *c);

// Checks the running operation's access to [address, address + bytes) of allocation `a` (of
// `device`, -1 for pinned host memory) against the allocation's history and records it; a race
// is logged and returns SI_ERROR_LAUNCH_FAILED with a short reason in `why` (256 bytes). The
// caller serialises accesses to the allocation. Outside a stream operation it does nothing.
int si_history_access(si_allocation *a, int device, uint64_t address, uint64_t bytes, si_access kind, char *why);
void si_history_free(si_history *h);
