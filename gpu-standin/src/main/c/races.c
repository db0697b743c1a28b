// races.c: data races between device operations, found by happens-before rather than by timing.
//
// ThreadSanitizer's model applied to CUDA streams. Every stream has a vector clock and every
// operation on it an epoch (its stream's own component, counted by the worker as it runs the
// operation; a stream runs in enqueue order). What orders two streams joins one's clock into the
// other's when the ordering operation runs: an event record stores its stream's clock in the
// record's mark and cuStreamWaitEvent joins it (streams.c, where the legacy NULL stream's
// implicit ordering is a record and a wait too); NCCL's rendezvous joins the clocks of the ranks
// that meet there, a collective at arrival and a send with its matching receive (nccl.c).
//
// The host is one more participant, for all host threads together: a host synchronisation that
// sees a stream or event complete (cuStreamSynchronize, cuEventSynchronize, cuCtxSynchronize, a
// cuStreamQuery or cuEventQuery answering success, the drain of cuMemFree and cuMemFreeHost, a
// copy into pageable memory) joins that clock into the host's, and every operation joins the
// host clock as it was when the operation was enqueued. So "synchronize, then use the buffer on
// another stream" is ordered, as it is on a GPU. Host threads are one participant because
// they order themselves through the JVM, which the stand-in cannot see (a rank thread syncs,
// then the test's main thread reads the result). The price: one thread's synchronisation also
// orders what other threads enqueue after it, so a race that only such a synchronisation
// happened to cover goes unreported.
//
// Every memory access of an operation goes through si_memory (copies, fills, kernels through
// si_kernel_input / si_kernel_output, NCCL buffers, cuBLAS operands), which calls
// si_history_access: the access is compared with the allocation's history of earlier accesses,
// and two that overlap, of which one writes and the earlier one's epoch is not in the current
// operation's clock, are a race: the operation fails with CUDA_ERROR_LAUNCH_FAILED (sticky) and
// a line that names both. Whichever of the two runs second reports it, so the outcome does not
// depend on timing. A history lives as long as its allocation (a block Longbow's memory pool
// reuses keeps it), bounded: an access drops the earlier ones it supersedes (ordered before
// it, inside its range, and a write unless both read: whatever races with the dropped one
// races with it too), and past HISTORY_MAX entries the oldest goes.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

#define HISTORY_MAX 512  // accesses remembered per allocation

// ---- vector clocks -----------------------------------------------------------------------

uint32_t si_clock_get(const si_clock *c, uint32_t stream) {
    return stream < c->size ? c->epochs[stream] : 0;
}

static void reserve(si_clock *c, uint32_t size) {
    if (size <= c->size) return;
    c->epochs = realloc(c->epochs, size * sizeof *c->epochs);
    memset(c->epochs + c->size, 0, (size - c->size) * sizeof *c->epochs);
    c->size = size;
}

void si_clock_set(si_clock *c, uint32_t stream, uint32_t epoch) {
    reserve(c, stream + 1);
    c->epochs[stream] = epoch;
}

bool si_clock_join(si_clock *into, const si_clock *from) {
    bool changed = false;
    reserve(into, from->size);
    for (uint32_t i = 0; i < from->size; i++) {
        if (from->epochs[i] > into->epochs[i]) {
            into->epochs[i] = from->epochs[i];
            changed = true;
        }
    }
    return changed;
}

void si_clock_copy(si_clock *into, const si_clock *from) {
    reserve(into, from->size);
    for (uint32_t i = 0; i < into->size; i++) into->epochs[i] = si_clock_get(from, i);
}

void si_clock_release(si_clock *c) {
    free(c->epochs);
    *c = (si_clock){0, NULL};
}

si_clock *si_clock_snapshot(void) {
    si_clock *c = calloc(1, sizeof *c);
    si_op *op = si_running();
    if (op) si_clock_copy(c, op->clock);
    return c;
}

void si_clock_join_running(const si_clock *clock) {
    si_op *op = si_running();
    if (op) op->joined |= si_clock_join(op->clock, clock);
}

void si_clock_free(si_clock *clock) {
    if (clock) si_clock_release(clock);
    free(clock);
}

// ---- the host ----------------------------------------------------------------------------

// Immutable once made: operations keep a reference to the one current when they were enqueued.
// Each synchronisation that teaches the host something makes a new one with a higher version,
// and a stream that joined a version knows every older one.
struct si_host_clock {
    atomic_int refs;
    uint64_t version;
    si_clock clock;
};

static pthread_mutex_t host_lock = PTHREAD_MUTEX_INITIALIZER;
static si_host_clock *host;

static si_host_clock *current_host(void) {  // host_lock held
    if (host == NULL) {
        host = calloc(1, sizeof *host);
        atomic_init(&host->refs, 1);
    }
    return host;
}

si_host_clock *si_host_snapshot(void) {
    pthread_mutex_lock(&host_lock);
    si_host_clock *h = current_host();
    atomic_fetch_add(&h->refs, 1);
    pthread_mutex_unlock(&host_lock);
    return h;
}

void si_host_release(si_host_clock *h) {
    if (h && atomic_fetch_sub(&h->refs, 1) == 1) {
        si_clock_release(&h->clock);
        free(h);
    }
}

bool si_host_join(si_clock *into, const si_host_clock *h, uint64_t *seen) {
    if (h->version <= *seen) return false;
    *seen = h->version;
    return si_clock_join(into, &h->clock);
}

void si_host_observe(const si_clock *c) {
    pthread_mutex_lock(&host_lock);
    si_host_clock *old = current_host(), *h = calloc(1, sizeof *h);
    si_clock_copy(&h->clock, &old->clock);
    if (si_clock_join(&h->clock, c)) {
        atomic_init(&h->refs, 1);
        h->version = old->version + 1;
        host = h;
        si_host_release(old);
    } else {
        si_clock_release(&h->clock);
        free(h);
    }
    pthread_mutex_unlock(&host_lock);
}

// ---- names -------------------------------------------------------------------------------

// Operation names ("kernel longbow_fill_f32", "ncclAllReduce on communicator 3 rank 1") kept once
// each for the process's life, so queued work and access histories hold a pointer.
typedef struct name {
    struct name *next;
    char text[];
} name;

static pthread_mutex_t names_lock = PTHREAD_MUTEX_INITIALIZER;
static name *names[1024];

const char *si_intern(const char *text) {
    uint64_t hash = 0xcbf29ce484222325ull;
    for (const char *p = text; *p; p++) hash = (hash ^ (uint8_t)*p) * 0x100000001b3ull;
    name **bucket = &names[hash % 1024];
    pthread_mutex_lock(&names_lock);
    name *n = *bucket;
    while (n && strcmp(n->text, text) != 0) n = n->next;
    if (n == NULL) {
        n = malloc(sizeof *n + strlen(text) + 1);
        strcpy(n->text, text);
        n->next = *bucket;
        *bucket = n;
    }
    pthread_mutex_unlock(&names_lock);
    return n->text;
}

// ---- access histories ----------------------------------------------------------------------

typedef struct {
    uint64_t start, end;    // [start, end)
    const char *what;       // the operation, interned
    uint32_t stream, epoch;
    int device, number;     // the stream, for messages
    bool write;
} access;

struct si_history {
    int count, capacity;
    access *entries;        // oldest first
};

void si_history_free(si_history *h) {
    if (h) free(h->entries);
    free(h);
}

static void describe_stream(char *out, size_t size, int device, int number) {
    if (number == 0) snprintf(out, size, "device %d's NULL stream", device);
    else snprintf(out, size, "device %d's stream %d", device, number);
}

static void report(const access *now, const access *before, const si_allocation *a, int device, char *why) {
    char now_stream[48], before_stream[48], where[96];
    describe_stream(now_stream, sizeof now_stream, now->device, now->number);
    describe_stream(before_stream, sizeof before_stream, before->device, before->number);
    if (device >= 0) snprintf(where, sizeof where, "device %d's %llu-byte allocation at 0x%llx", device,
                              (unsigned long long)a->bytes, (unsigned long long)a->address);
    else snprintf(where, sizeof where, "the %llu-byte pinned host allocation at 0x%llx", (unsigned long long)a->bytes,
                  (unsigned long long)a->address);
    si_log("data race: %s (%s, its op %u) %s [0x%llx, 0x%llx) and %s (%s, its op %u) %s [0x%llx, 0x%llx) in %s; no event"
           " orders them: neither stream waited for an event recorded on the other after that op",
           now->what, now_stream, now->epoch, now->write ? "writes" : "reads", (unsigned long long)now->start,
           (unsigned long long)now->end, before->what, before_stream, before->epoch, before->write ? "writes" : "reads",
           (unsigned long long)before->start, (unsigned long long)before->end, where);
    snprintf(why, 256, "a data race with %s on %s (see the data race line)", before->what, before_stream);
}

int si_history_access(si_allocation *a, int device, uint64_t address, uint64_t bytes, si_access kind, char *why) {
    const si_op *op = si_running();
    if (op == NULL || bytes == 0) return SI_SUCCESS;  // the host's own accesses are not modelled
    if (a->history == NULL) a->history = calloc(1, sizeof *a->history);
    si_history *h = a->history;
    access now = {.start = address, .end = address + bytes, .what = op->what, .stream = op->stream,
                  .epoch = si_clock_get(op->clock, op->stream), .device = op->device, .number = op->number,
                  .write = kind == SI_WRITE};
    access race = {.what = NULL};
    int kept = 0;
    for (int i = 0; i < h->count; i++) {
        access e = h->entries[i];
        bool overlaps = e.start < now.end && now.start < e.end;
        bool ordered = e.epoch <= si_clock_get(op->clock, e.stream);
        if (overlaps && !ordered && (e.write || now.write) && race.what == NULL) race = e;
        bool superseded = overlaps && ordered && e.start >= now.start && e.end <= now.end && (now.write || !e.write);
        if (!superseded) h->entries[kept++] = e;
    }
    h->count = kept;
    if (race.what != NULL) {
        report(&now, &race, a, device, why);
        return SI_ERROR_LAUNCH_FAILED;
    }
    if (h->count == HISTORY_MAX) memmove(h->entries, h->entries + 1, (size_t)--h->count * sizeof *h->entries);
    if (h->count == h->capacity) {
        h->capacity = h->capacity ? 2 * h->capacity : 8;
        h->entries = realloc(h->entries, (size_t)h->capacity * sizeof *h->entries);
    }
    h->entries[h->count++] = now;
    return SI_SUCCESS;
}
