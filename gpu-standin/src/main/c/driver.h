// driver.h: the driver stand-in's own state, private to driver.c, memory.c, streams.c, module.c.
#pragma once

#include <stdatomic.h>
#include <stdbool.h>

#include "kernel.h"
#include "standin.h"

#define SI_MAX_DEVICES 16

// A live device allocation: [address, address + bytes) of the device's address range.
typedef struct {
    uint64_t address, bytes;
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

// Streams: created per context; the context keeps no list, the registry does.
si_stream *si_stream_create(si_context *ctx, unsigned flags);
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
