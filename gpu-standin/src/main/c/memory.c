// memory.c: device memory, pinned host memory, copies and fills.
//
// Rules modelled from the driver API documentation ("API synchronization behavior"):
// - device pointers are not host pointers: the host faults on them (SIGBUS, an InternalError in
//   the JVM); copies and kernels reach device memory only through si_memory, which refuses
//   anything outside a live allocation;
// - fresh allocations hold garbage (SI_POISON), device and pinned alike;
// - async copies with pinned host memory run when the stream reaches them; a host-to-device copy
//   from pageable memory is staged (the source may be reused once the call returns), a
//   device-to-host copy into pageable memory returns only once the copy is done;
// - cuMemFree waits for the owning device to drain and cuMemFreeHost for the current one,
//   holding the launch lock;
// - every access a stream operation makes goes through si_memory, which records it in the
//   allocation's history for the race detector (races.c); freeing forgets the history.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "driver.h"

#define ALIGNMENT 512u  // cuMemAlloc's alignment on current GPUs
#define RANGE_FACTOR 4  // address space per byte of memory: freed addresses come back late

static pthread_mutex_t heap_lock = PTHREAD_MUTEX_INITIALIZER;  // every heap and the pinned list

// ---- device heaps -----------------------------------------------------------------------

void si_heap_init(si_device *device) {
    si_heap *h = &device->heap;
    h->range_bytes = h->total * RANGE_FACTOR;
    int fd = memfd_create("longbow-standin-device", MFD_CLOEXEC);  // empty: every access faults
    h->range = mmap(NULL, h->range_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    close(fd);
    h->backing = mmap(NULL, h->range_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (h->range == MAP_FAILED || h->backing == MAP_FAILED) {
        si_log("device %d: cannot reserve %llu bytes of address space", device->ordinal, (unsigned long long)h->range_bytes);
        abort();
    }
}

static void release_pages(si_heap *h, uint64_t offset, uint64_t bytes) {
    long page = sysconf(_SC_PAGESIZE);
    uint64_t start = (offset + page - 1) / page * page, end = (offset + bytes) / page * page;
    if (end > start) madvise(h->backing + start, end - start, MADV_DONTNEED);
}

void si_heap_reset(si_device *device) {
    si_heap *h = &device->heap;
    pthread_mutex_lock(&heap_lock);
    for (int i = 0; i < h->count; i++) {
        release_pages(h, h->live[i].address - (uint64_t)(uintptr_t)h->range, h->live[i].bytes);
        si_history_free(h->live[i].history);
    }
    h->count = 0;
    h->used = 0;
    pthread_mutex_unlock(&heap_lock);
}

// Index of the allocation containing address, or -1. Caller holds heap_lock.
static int allocation_at(si_heap *h, uint64_t address) {
    int lo = 0, hi = h->count - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        si_allocation *a = &h->live[mid];
        if (address < a->address) hi = mid - 1;
        else if (address >= a->address + a->bytes) lo = mid + 1;
        else return mid;
    }
    return -1;
}

static si_device *device_owning(uint64_t address) {
    for (int i = 0; i < si_state.device_count; i++) {
        si_heap *h = &si_state.devices[i].heap;
        uint64_t base = (uint64_t)(uintptr_t)h->range;
        if (h->range && address >= base && address < base + h->range_bytes) return &si_state.devices[i];
    }
    return NULL;
}

// Next fit from the rover: the first gap at or after it that holds `bytes`, wrapping once.
static int64_t find_gap(si_heap *h, uint64_t bytes) {
    uint64_t base = (uint64_t)(uintptr_t)h->range;
    for (int pass = 0; pass < 2; pass++) {
        uint64_t candidate = pass == 0 ? h->next : 0;
        for (int i = 0; i <= h->count; i++) {
            uint64_t gap_end = i < h->count ? h->live[i].address - base : h->range_bytes;
            if (i < h->count && h->live[i].address - base + h->live[i].bytes <= candidate) continue;
            if (candidate + bytes <= gap_end) return (int64_t)candidate;
            if (i < h->count) {
                candidate = (h->live[i].address - base + h->live[i].bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
            }
        }
    }
    return -1;
}

SI_EXPORT int cuMemAlloc_v2(uint64_t *pointer, size_t bytes) {
    int error;
    si_context *ctx = si_require_current(&error, true);
    if (ctx == NULL) return error;
    if (pointer == NULL || bytes == 0) return SI_ERROR_INVALID_VALUE;
    si_heap *h = &ctx->device->heap;
    uint64_t rounded = (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    pthread_mutex_lock(&heap_lock);
    int64_t offset = h->used + rounded <= h->total ? find_gap(h, rounded) : -1;
    if (offset < 0) {
        pthread_mutex_unlock(&heap_lock);
        return SI_ERROR_OUT_OF_MEMORY;
    }
    if (h->count == h->capacity) {
        h->capacity = h->capacity ? 2 * h->capacity : 64;
        h->live = realloc(h->live, (size_t)h->capacity * sizeof *h->live);
    }
    uint64_t address = (uint64_t)(uintptr_t)h->range + (uint64_t)offset;
    int at = 0;
    while (at < h->count && h->live[at].address < address) at++;
    memmove(&h->live[at + 1], &h->live[at], (size_t)(h->count - at) * sizeof *h->live);
    h->live[at] = (si_allocation){address, bytes, NULL};
    h->count++;
    h->used += rounded;
    h->next = (uint64_t)offset + rounded;
    pthread_mutex_unlock(&heap_lock);
    memset(h->backing + offset, SI_POISON, bytes);
    *pointer = address;
    return SI_SUCCESS;
}

SI_EXPORT int cuMemFree_v2(uint64_t address) {
    int error;
    si_context *ctx = si_require_current(&error, true);
    if (ctx == NULL) return error;
    si_device *d = device_owning(address);
    if (d == NULL) return SI_ERROR_INVALID_VALUE;
    si_launch_lock_exclusive();
    si_device_drain(d);
    si_heap *h = &d->heap;
    pthread_mutex_lock(&heap_lock);
    int at = allocation_at(h, address);
    if (at < 0 || h->live[at].address != address) {
        pthread_mutex_unlock(&heap_lock);
        si_launch_unlock_exclusive();
        si_log("cuMemFree_v2: 0x%llx is not the start of a live allocation of device %d", (unsigned long long)address, d->ordinal);
        return SI_ERROR_INVALID_VALUE;
    }
    uint64_t bytes = h->live[at].bytes;
    si_history_free(h->live[at].history);
    memmove(&h->live[at], &h->live[at + 1], (size_t)(h->count - at - 1) * sizeof *h->live);
    h->count--;
    h->used -= (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    release_pages(h, address - (uint64_t)(uintptr_t)h->range, bytes);
    pthread_mutex_unlock(&heap_lock);
    si_launch_unlock_exclusive();
    return SI_SUCCESS;
}

SI_EXPORT int cuMemGetInfo_v2(size_t *free_bytes, size_t *total_bytes) {
    int error;
    si_context *ctx = si_require_current(&error, true);
    if (ctx == NULL) return error;
    if (free_bytes == NULL || total_bytes == NULL) return SI_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&heap_lock);
    *total_bytes = ctx->device->heap.total;
    *free_bytes = ctx->device->heap.total - ctx->device->heap.used;
    pthread_mutex_unlock(&heap_lock);
    return SI_SUCCESS;
}

// ---- pinned host memory ------------------------------------------------------------------

typedef struct pinned {
    struct pinned *next;
    si_allocation a;        // the bytes asked for, at the mapping's start
    uint64_t mapped;
} pinned;

static pinned *pinned_list;

// The pinned allocation holding [address, address + bytes), or NULL. Caller holds heap_lock.
static pinned *pinned_at(uint64_t address, uint64_t bytes) {
    pinned *p = pinned_list;
    while (p && !(address >= p->a.address && address + bytes <= p->a.address + p->a.bytes)) p = p->next;
    return p;
}

bool si_pinned_contains(uint64_t address, uint64_t bytes) {
    pthread_mutex_lock(&heap_lock);
    bool inside = pinned_at(address, bytes) != NULL;
    pthread_mutex_unlock(&heap_lock);
    return inside;
}

SI_EXPORT int cuMemHostAlloc(void **pointer, size_t bytes, unsigned int flags) {
    int error;
    si_context *ctx = si_require_current(&error, true);
    if (ctx == NULL) return error;
    if (pointer == NULL || bytes == 0 || (flags & ~7u) != 0) return SI_ERROR_INVALID_VALUE;
    long page = sysconf(_SC_PAGESIZE);
    uint64_t mapped = (bytes + page - 1) / page * page;
    uint8_t *base = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return SI_ERROR_OUT_OF_MEMORY;
    memset(base, SI_POISON, bytes);
    pinned *p = malloc(sizeof *p);
    *p = (pinned){.a = {(uint64_t)(uintptr_t)base, bytes, NULL}, .mapped = mapped};
    pthread_mutex_lock(&heap_lock);
    p->next = pinned_list;
    pinned_list = p;
    pthread_mutex_unlock(&heap_lock);
    *pointer = base;
    return SI_SUCCESS;
}

SI_EXPORT int cuMemFreeHost(void *pointer) {
    int error;
    si_context *ctx = si_require_current(&error, true);
    if (ctx == NULL) return error;
    si_launch_lock_exclusive();
    si_device_drain(ctx->device);  // as cuCtxSynchronize: the current context's work may read it
    pthread_mutex_lock(&heap_lock);
    pinned **link = &pinned_list;
    while (*link && (*link)->a.address != (uint64_t)(uintptr_t)pointer) link = &(*link)->next;
    pinned *p = *link;
    if (p) *link = p->next;
    pthread_mutex_unlock(&heap_lock);
    si_launch_unlock_exclusive();
    if (p == NULL) {
        si_log("cuMemFreeHost: %p is not pinned memory from cuMemHostAlloc", pointer);
        return SI_ERROR_INVALID_VALUE;
    }
    munmap((void *)(uintptr_t)p->a.address, p->mapped);
    si_history_free(p->a.history);
    free(p);
    return SI_SUCCESS;
}

// ---- what streams may touch --------------------------------------------------------------

si_memory_kind si_memory_kind_of(uint64_t address, uint64_t bytes) {
    si_device *d = device_owning(address);
    if (d != NULL) {
        pthread_mutex_lock(&heap_lock);
        int at = allocation_at(&d->heap, address);
        bool inside = at >= 0 && address + bytes <= d->heap.live[at].address + d->heap.live[at].bytes;
        pthread_mutex_unlock(&heap_lock);
        return inside ? SI_MEM_DEVICE : SI_MEM_NONE;
    }
    return si_pinned_contains(address, bytes) ? SI_MEM_PINNED : SI_MEM_NONE;
}

int si_memory_device(uint64_t address) {
    si_device *d = device_owning(address);
    return d ? d->ordinal : -1;
}

void *si_memory(uint64_t address, uint64_t bytes, uint64_t align, si_access access, int *error, char *why) {
    if (align > 1 && address % align != 0) {
        *error = SI_ERROR_MISALIGNED_ADDRESS;
        snprintf(why, 256, "0x%llx is not aligned to %llu bytes", (unsigned long long)address, (unsigned long long)align);
        return NULL;
    }
    si_device *d = device_owning(address);
    pthread_mutex_lock(&heap_lock);  // also serialises the accesses' race checks
    if (d != NULL) {
        si_heap *h = &d->heap;
        int at = allocation_at(h, address);
        si_allocation *a = at >= 0 ? &h->live[at] : NULL;
        if (a == NULL) {
            *error = SI_ERROR_ILLEGAL_ADDRESS;
            snprintf(why, 256, "0x%llx on device %d is not allocated (freed, or never)", (unsigned long long)address, d->ordinal);
        } else if (address + bytes > a->address + a->bytes) {
            *error = SI_ERROR_ILLEGAL_ADDRESS;
            snprintf(why, 256, "%llu bytes at 0x%llx run %llu bytes past the end of a %llu-byte allocation on device %d",
                     (unsigned long long)bytes, (unsigned long long)address,
                     (unsigned long long)(address + bytes - a->address - a->bytes), (unsigned long long)a->bytes, d->ordinal);
        } else {
            *error = si_history_access(a, d->ordinal, address, bytes, access, why);
        }
        pthread_mutex_unlock(&heap_lock);
        return *error == SI_SUCCESS ? h->backing + (address - (uint64_t)(uintptr_t)h->range) : NULL;
    }
    pinned *p = pinned_at(address, bytes == 0 ? 1 : bytes);
    if (p == NULL) {
        *error = SI_ERROR_ILLEGAL_ADDRESS;
        snprintf(why, 256, "%llu bytes at 0x%llx are neither device memory nor pinned host memory",
                 (unsigned long long)bytes, (unsigned long long)address);
    } else {
        *error = si_history_access(&p->a, -1, address, bytes, access, why);
    }
    pthread_mutex_unlock(&heap_lock);
    return *error == SI_SUCCESS ? (void *)(uintptr_t)address : NULL;
}

// ---- copies and fills --------------------------------------------------------------------

typedef struct {
    uint64_t dst, src;       // addresses checked again when the copy runs
    void *staged;            // the pageable source's copy, or NULL
    uint64_t bytes;
    bool dst_host, src_host; // pageable host sides: plain pointers
} copy_work;

static int run_copy(void *arg) {
    copy_work *c = arg;
    int error = SI_SUCCESS;
    void *dst = c->dst_host ? (void *)(uintptr_t)c->dst : si_memory(c->dst, c->bytes, 1, SI_WRITE, &error, si_work_reason());
    if (dst == NULL) return error;
    const void *src = c->staged   ? c->staged
                      : c->src_host ? (const void *)(uintptr_t)c->src
                                    : si_memory(c->src, c->bytes, 1, SI_READ, &error, si_work_reason());
    if (src == NULL) return error;
    memmove(dst, src, c->bytes);
    return SI_SUCCESS;
}

static void release_copy(void *arg) {
    copy_work *c = arg;
    free(c->staged);
    free(c);
}

// Any copy: each side is device memory, pinned memory or pageable host memory (unified
// addressing tells them apart). `what` names the API call for messages.
static int copy_async(const char *what, uint64_t dst, uint64_t src, size_t bytes, void *cu_stream, int need_dst, int need_src) {
    int error;
    si_context *ctx = si_require_current(&error, true);
    if (ctx == NULL) return error;
    si_stream *stream = si_stream_of(cu_stream, &error);
    if (stream == NULL) return error;
    if (bytes == 0) return SI_SUCCESS;
    si_memory_kind dst_kind = si_memory_kind_of(dst, bytes), src_kind = si_memory_kind_of(src, bytes);
    // need_*: 1 device, 0 host (pinned or pageable), -1 any
    if ((need_dst == 1 && dst_kind != SI_MEM_DEVICE) || (need_src == 1 && src_kind != SI_MEM_DEVICE)) {
        si_log("%s: the %s (%llu bytes at 0x%llx) is not inside one live device allocation", what,
               need_dst == 1 && dst_kind != SI_MEM_DEVICE ? "destination" : "source", (unsigned long long)bytes,
               (unsigned long long)(need_dst == 1 && dst_kind != SI_MEM_DEVICE ? dst : src));
        return SI_ERROR_INVALID_VALUE;
    }
    if ((need_dst == 0 && device_owning(dst)) || (need_src == 0 && device_owning(src))) {
        si_log("%s: a host pointer argument (0x%llx) is device memory", what,
               (unsigned long long)(need_dst == 0 && device_owning(dst) ? dst : src));
        return SI_ERROR_INVALID_VALUE;
    }
    if ((dst_kind == SI_MEM_NONE && device_owning(dst)) || (src_kind == SI_MEM_NONE && device_owning(src))) {
        si_log("%s: %llu bytes at 0x%llx are not inside one live device allocation", what, (unsigned long long)bytes,
               (unsigned long long)(dst_kind == SI_MEM_NONE && device_owning(dst) ? dst : src));
        return SI_ERROR_INVALID_VALUE;
    }
    copy_work *c = calloc(1, sizeof *c);
    *c = (copy_work){.dst = dst, .src = src, .bytes = bytes, .dst_host = dst_kind == SI_MEM_NONE, .src_host = src_kind == SI_MEM_NONE};
    bool pageable_source = c->src_host, pageable_target = c->dst_host;
    if (pageable_source) {  // staged now: the caller may reuse its buffer when we return
        c->staged = malloc(bytes);
        memcpy(c->staged, (const void *)(uintptr_t)src, bytes);
    }
    si_launch_lock();
    error = si_enqueue(stream, run_copy, c, release_copy, what);
    si_launch_unlock();
    if (error == SI_SUCCESS && pageable_target) {
        error = si_stream_wait(stream);  // returns once the data is in pageable memory
    }
    return error;
}

SI_EXPORT int cuMemcpyHtoDAsync_v2(uint64_t dst, const void *src, size_t bytes, void *stream) {
    return copy_async("cuMemcpyHtoDAsync_v2", dst, (uint64_t)(uintptr_t)src, bytes, stream, 1, 0);
}

SI_EXPORT int cuMemcpyDtoHAsync_v2(void *dst, uint64_t src, size_t bytes, void *stream) {
    return copy_async("cuMemcpyDtoHAsync_v2", (uint64_t)(uintptr_t)dst, src, bytes, stream, 0, 1);
}

SI_EXPORT int cuMemcpyDtoDAsync_v2(uint64_t dst, uint64_t src, size_t bytes, void *stream) {
    return copy_async("cuMemcpyDtoDAsync_v2", dst, src, bytes, stream, 1, 1);
}

SI_EXPORT int cuMemcpyAsync(uint64_t dst, uint64_t src, size_t bytes, void *stream) {
    return copy_async("cuMemcpyAsync", dst, src, bytes, stream, -1, -1);
}

typedef struct {
    uint64_t dst, count;
    uint32_t value;
    int width;  // 1 or 4 bytes
} fill_work;

static int run_fill(void *arg) {
    fill_work *f = arg;
    int error = SI_SUCCESS;
    uint8_t *dst = si_memory(f->dst, f->count * (uint64_t)f->width, (uint64_t)f->width, SI_WRITE, &error, si_work_reason());
    if (dst == NULL) return error;
    if (f->width == 1) {
        memset(dst, (int)f->value, f->count);
    } else {
        for (uint64_t i = 0; i < f->count; i++) memcpy(dst + 4 * i, &f->value, 4);
    }
    return SI_SUCCESS;
}

static int fill_async(const char *what, uint64_t dst, uint32_t value, size_t count, int width, void *cu_stream) {
    int error;
    si_context *ctx = si_require_current(&error, true);
    if (ctx == NULL) return error;
    si_stream *stream = si_stream_of(cu_stream, &error);
    if (stream == NULL) return error;
    if (count == 0) return SI_SUCCESS;
    if (dst % (uint64_t)width != 0) {
        si_log("%s: 0x%llx is not aligned to %d bytes", what, (unsigned long long)dst, width);
        return SI_ERROR_INVALID_VALUE;
    }
    if (si_memory_kind_of(dst, count * (uint64_t)width) != SI_MEM_DEVICE) {
        si_log("%s: %llu bytes at 0x%llx are not inside one live device allocation", what,
               (unsigned long long)(count * (uint64_t)width), (unsigned long long)dst);
        return SI_ERROR_INVALID_VALUE;
    }
    fill_work *f = malloc(sizeof *f);
    *f = (fill_work){dst, count, value, width};
    si_launch_lock();
    error = si_enqueue(stream, run_fill, f, free, what);
    si_launch_unlock();
    return error;
}

SI_EXPORT int cuMemsetD8Async(uint64_t dst, unsigned char value, size_t count, void *stream) {
    return fill_async("cuMemsetD8Async", dst, value, count, 1, stream);
}

SI_EXPORT int cuMemsetD32Async(uint64_t dst, unsigned int value, size_t count, void *stream) {
    return fill_async("cuMemsetD32Async", dst, value, count, 4, stream);
}
