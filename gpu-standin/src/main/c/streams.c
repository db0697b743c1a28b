// streams.c: streams and events.
//
// A stream is a worker thread running its queue in order, really asynchronously: the host goes
// on while it works, and a random delay before each operation (LONGBOW_STANDIN_JITTER_US,
// default 20) varies the interleavings. Two streams are ordered only by events
// (cuStreamWaitEvent); the legacy NULL stream also orders against blocking streams of its
// context, as CUDA's legacy default stream does: an implicit record on the one and wait on the
// other. After a fault the context's queued work is skipped (events still complete, so nobody
// waits forever) and every call returns the error.
//
// The worker keeps the stream's vector clock for the race detector (races.c): each operation
// is the next epoch of the stream, joins the host's clock as it was at the enqueue, and runs as
// si_running(); a record stores the clock in its mark, a wait joins the mark's clock. After each
// operation the clock is published for the host's synchronisations.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "driver.h"

typedef struct work {
    struct work *next;
    si_work_fn run;
    void *arg;
    si_release_fn release;
    const char *what;       // interned
    si_host_clock *host;    // the host's clock at the enqueue
} work;

struct si_stream {
    si_stream *next_all;    // every stream, under streams_lock
    si_context *ctx;
    uint64_t generation;
    unsigned flags;         // CU_STREAM_NON_BLOCKING (1) or 0
    bool legacy, ending;
    uint32_t id;            // its component in vector clocks
    int number;             // in messages: 0 the NULL stream, then 1, 2, ... in its context
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t changed;
    work *head, *tail;
    uint64_t enqueued, completed;
    si_clock clock;         // the worker's
    uint64_t host_seen;     // the newest host clock joined into it
    si_clock published;     // the clock after the last completed operation, under mu
};

static pthread_mutex_t streams_lock = PTHREAD_MUTEX_INITIALIZER;
static si_stream *all_streams;
static atomic_uint stream_ids;
static pthread_rwlock_t launch_lock = PTHREAD_RWLOCK_INITIALIZER;
static __thread char reason[512];
static __thread si_op *running;

si_op *si_running(void) { return running; }

void si_launch_lock(void) { pthread_rwlock_rdlock(&launch_lock); }
void si_launch_unlock(void) { pthread_rwlock_unlock(&launch_lock); }
void si_launch_lock_exclusive(void) { pthread_rwlock_wrlock(&launch_lock); }
void si_launch_unlock_exclusive(void) { pthread_rwlock_unlock(&launch_lock); }
char *si_work_reason(void) { return reason; }

static int64_t jitter_us(void) {
    static _Atomic int64_t value = -1;
    int64_t v = atomic_load(&value);
    if (v < 0) {
        const char *env = getenv("LONGBOW_STANDIN_JITTER_US");
        v = env && *env ? atoll(env) : 20;
        atomic_store(&value, v);
    }
    return v;
}

// ---- the worker --------------------------------------------------------------------------

static void *worker(void *arg) {
    si_stream *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (s->head == NULL && !s->ending) pthread_cond_wait(&s->changed, &s->mu);
        work *w = s->head;
        pthread_mutex_unlock(&s->mu);
        if (w == NULL) break;  // ending, and the queue is empty
        if (jitter_us() > 0) usleep(si_random((uint32_t)jitter_us()));
        uint32_t epoch = si_clock_get(&s->clock, s->id) + 1;
        si_clock_set(&s->clock, s->id, epoch);
        si_op op = {.stream = s->id, .device = s->ctx->device->ordinal, .number = s->number, .what = w->what,
                    .clock = &s->clock, .joined = si_host_join(&s->clock, w->host, &s->host_seen)};
        running = &op;
        if (si_context_error(s->ctx) == SI_SUCCESS) {
            reason[0] = '\0';
            int result = w->run(w->arg);
            if (result != SI_SUCCESS) {
                char why[700];
                snprintf(why, sizeof why, "%s failed: %s", w->what, reason[0] ? reason : "(no reason given)");
                si_context_fail(s->ctx, result, why);
            }
        }
        if (w->release) w->release(w->arg);
        running = NULL;
        si_host_release(w->host);
        pthread_mutex_lock(&s->mu);
        if (op.joined) si_clock_copy(&s->published, &s->clock);
        else si_clock_set(&s->published, s->id, epoch);
        s->head = w->next;
        if (s->head == NULL) s->tail = NULL;
        s->completed++;
        pthread_cond_broadcast(&s->changed);
        pthread_mutex_unlock(&s->mu);
        free(w);
    }
    pthread_mutex_lock(&streams_lock);
    for (si_stream **link = &all_streams; *link; link = &(*link)->next_all) {
        if (*link == s) {
            *link = s->next_all;
            break;
        }
    }
    pthread_mutex_unlock(&streams_lock);
    si_clock_release(&s->clock);
    return NULL;  // the struct stays allocated: drains that saw it may still read its counters and clock
}

si_stream *si_stream_create(si_context *ctx, unsigned flags, bool legacy) {
    si_stream *s = calloc(1, sizeof *s);
    s->ctx = ctx;
    s->generation = ctx->generation;
    s->flags = flags;
    s->legacy = legacy;
    s->id = atomic_fetch_add(&stream_ids, 1) + 1;
    s->number = legacy ? 0 : ++ctx->streams;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->changed, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_create(&s->thread, &attr, worker, s);
    pthread_attr_destroy(&attr);
    pthread_mutex_lock(&streams_lock);
    s->next_all = all_streams;
    all_streams = s;
    pthread_mutex_unlock(&streams_lock);
    si_register(s);
    return s;
}

static void end(si_stream *s) {
    si_unregister(s);
    pthread_mutex_lock(&s->mu);
    s->ending = true;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->mu);
}

void si_stream_destroy(si_stream *s) {
    end(s);
}

void si_context_streams_end(si_context *ctx) {
    pthread_mutex_lock(&streams_lock);
    for (si_stream *s = all_streams; s; s = s->next_all) {
        if (s->ctx == ctx && !s->ending) end(s);
    }
    pthread_mutex_unlock(&streams_lock);
}

// ---- waiting -----------------------------------------------------------------------------

static uint64_t enqueued(si_stream *s) {
    pthread_mutex_lock(&s->mu);
    uint64_t n = s->enqueued;
    pthread_mutex_unlock(&s->mu);
    return n;
}

// The host waits until the stream has completed `target` operations, and so knows what they
// knew. (When another thread enqueues on the stream meanwhile, the host may learn a little more
// than it waited for: every Longbow stream is issued to by one thread at a time.)
static void host_wait(si_stream *s, uint64_t target) {
    pthread_mutex_lock(&s->mu);
    while (s->completed < target) pthread_cond_wait(&s->changed, &s->mu);
    si_host_observe(&s->published);
    pthread_mutex_unlock(&s->mu);
}

int si_stream_wait(si_stream *s) {
    host_wait(s, enqueued(s));
    return si_context_error(s->ctx);
}

void si_device_drain(si_device *device) {
    enum { MAX = 4096 };
    static __thread si_stream *streams[MAX];
    static __thread uint64_t targets[MAX];
    int n = 0;
    pthread_mutex_lock(&streams_lock);
    for (si_stream *s = all_streams; s && n < MAX; s = s->next_all) {
        if (device == NULL || s->ctx->device == device) {
            streams[n] = s;
            targets[n++] = enqueued(s);
        }
    }
    pthread_mutex_unlock(&streams_lock);
    for (int i = 0; i < n; i++) host_wait(streams[i], targets[i]);
}

// ---- marks: what a record leaves and a wait waits for ----------------------------------------

// One record of an event (or of the legacy stream's implicit ordering): what waits and queries
// refer to (a later record makes a new mark, so a wait enqueued before it still waits for the
// record it saw, as CUDA specifies). `clock` is the recording stream's when the record ran.
typedef struct {
    atomic_int refs;
    bool done;
    double time_ms;
    si_clock clock;
} mark;

static pthread_mutex_t marks_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t marks_changed = PTHREAD_COND_INITIALIZER;

static mark *new_mark(int refs) {
    mark *m = calloc(1, sizeof *m);
    atomic_init(&m->refs, refs);
    return m;
}

static void unref(mark *m) {
    if (m && atomic_fetch_sub(&m->refs, 1) == 1) {
        si_clock_release(&m->clock);
        free(m);
    }
}

static int run_record(void *arg) {
    mark *m = arg;
    m->time_ms = si_now_ms();
    si_clock_copy(&m->clock, running->clock);
    return SI_SUCCESS;
}

static void complete_record(void *arg) {  // runs even when the context has failed
    mark *m = arg;
    pthread_mutex_lock(&marks_lock);
    m->done = true;
    pthread_cond_broadcast(&marks_changed);
    pthread_mutex_unlock(&marks_lock);
    unref(m);
}

// Waits for the mark until the stand-in's deadline; false on timeout.
static bool wait_mark(mark *m) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    int64_t ms = si_timeout_ms();
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&marks_lock);
    int waited = 0;
    while (!m->done && waited != ETIMEDOUT) waited = pthread_cond_timedwait(&marks_changed, &marks_lock, &deadline);
    bool done = m->done;
    pthread_mutex_unlock(&marks_lock);
    return done;
}

static int run_wait(void *arg) {
    mark *m = arg;
    if (!wait_mark(m)) {
        snprintf(si_work_reason(), 512, "the event it waits for was not reached within %lld ms (LONGBOW_STANDIN_TIMEOUT_MS);"
                 " on a GPU this stream would wait forever", (long long)si_timeout_ms());
        return SI_ERROR_LAUNCH_TIMEOUT;
    }
    si_clock_join_running(&m->clock);
    return SI_SUCCESS;
}

static void release_wait(void *arg) {
    unref(arg);
}

// ---- enqueueing --------------------------------------------------------------------------

// Queues the work, unless the stream has ended and its worker is gone (then it releases `arg`
// and returns false).
static bool push(si_stream *s, si_work_fn run, void *arg, si_release_fn release, const char *what) {
    work *w = calloc(1, sizeof *w);
    *w = (work){.run = run, .arg = arg, .release = release, .what = si_intern(what), .host = si_host_snapshot()};
    pthread_mutex_lock(&s->mu);
    bool open = !(s->ending && s->head == NULL);  // the worker leaves only when both hold
    if (open) {
        if (s->tail) s->tail->next = w;
        else s->head = w;
        s->tail = w;
        s->enqueued++;
        pthread_cond_broadcast(&s->changed);
    }
    pthread_mutex_unlock(&s->mu);
    if (!open) {
        si_host_release(w->host);
        free(w);
        if (release) release(arg);
    }
    return open;
}

// Work queued on s next waits for everything queued on `other` so far: a record on `other` and a
// wait for it on s, as if through an event.
static void push_after(si_stream *s, si_stream *other) {
    if (enqueued(other) == 0) return;
    mark *m = new_mark(2);  // the record's and the wait's
    push(other, run_record, m, complete_record, "legacy stream ordering");  // an ended stream completes the mark at once
    push(s, run_wait, m, release_wait, "legacy stream ordering");
}

// Legacy default stream semantics: work on it waits for the blocking streams of its context,
// and work on a blocking stream waits for it. Non-blocking streams (all of Longbow's) skip this.
static void order_with_legacy(si_stream *s) {
    if (s->flags & 1) return;
    if (!s->legacy) {
        push_after(s, s->ctx->legacy);
        return;
    }
    pthread_mutex_lock(&streams_lock);
    for (si_stream *other = all_streams; other; other = other->next_all) {
        if (other != s && other->ctx == s->ctx && !(other->flags & 1) && !other->ending) push_after(s, other);
    }
    pthread_mutex_unlock(&streams_lock);
}

int si_enqueue(si_stream *s, si_work_fn run, void *arg, si_release_fn release, const char *what) {
    int error = si_context_error(s->ctx);
    if (error != SI_SUCCESS) {
        if (release) release(arg);
        return error;
    }
    order_with_legacy(s);
    return push(s, run, arg, release, what) ? SI_SUCCESS : SI_ERROR_INVALID_HANDLE;
}

// ---- stream handles ----------------------------------------------------------------------

static bool live(si_stream *s) {
    return si_registered(s) && s->generation == s->ctx->generation && !s->ending;
}

si_stream *si_stream_of(void *cu_stream, int *error) {
    si_context *ctx = si_require_current(error, false);
    if (ctx == NULL) return NULL;
    si_stream *s = cu_stream ? (si_stream *)cu_stream : ctx->legacy;
    if (!live(s) || s->ctx != ctx) {
        *error = SI_ERROR_INVALID_HANDLE;
        if (live(s)) si_log("stream %p belongs to device %d, but the current context is device %d's", cu_stream,
                            s->ctx->device->ordinal, ctx->device->ordinal);
        return NULL;
    }
    return s;
}

si_stream *si_stream_any(void *cu_stream, int *error) {
    if (cu_stream == NULL) return si_stream_of(NULL, error);
    si_stream *s = cu_stream;
    if (!live(s)) {
        *error = SI_ERROR_INVALID_HANDLE;
        return NULL;
    }
    return s;
}

si_context *si_stream_context(si_stream *s) {
    return s->ctx;
}

SI_EXPORT int cuStreamCreate(si_stream **stream, unsigned int flags) {
    int error;
    si_context *ctx = si_require_current(&error, true);
    if (ctx == NULL) return error;
    if (stream == NULL || flags > 1) return SI_ERROR_INVALID_VALUE;
    *stream = si_stream_create(ctx, flags, false);
    return SI_SUCCESS;
}

SI_EXPORT int cuStreamDestroy_v2(si_stream *stream) {
    int error;
    if (si_require_current(&error, false) == NULL) return error;
    if (stream == NULL || !live(stream)) return SI_ERROR_INVALID_HANDLE;
    si_stream_destroy(stream);  // queued work still runs, as the driver's does
    return SI_SUCCESS;
}

SI_EXPORT int cuStreamSynchronize(si_stream *cu_stream) {
    int error;
    si_stream *s = si_stream_of(cu_stream, &error);
    if (s == NULL) return error;
    return si_stream_wait(s);
}

SI_EXPORT int cuStreamQuery(si_stream *cu_stream) {
    int error;
    si_stream *s = si_stream_of(cu_stream, &error);
    if (s == NULL) return error;
    pthread_mutex_lock(&s->mu);
    bool idle = s->completed == s->enqueued;
    if (idle) si_host_observe(&s->published);  // the host has seen it finish
    pthread_mutex_unlock(&s->mu);
    error = si_context_error(s->ctx);
    return error != SI_SUCCESS ? error : idle ? SI_SUCCESS : SI_ERROR_NOT_READY;
}

// ---- events ------------------------------------------------------------------------------

typedef struct {
    si_context *ctx;
    uint64_t generation;
    unsigned flags;         // CU_EVENT_DISABLE_TIMING (2) ...
    mark *last;
} si_event;

static bool event_live(si_event *e) {
    return e != NULL && si_registered(e) && e->generation == e->ctx->generation;
}

SI_EXPORT int cuEventCreate(si_event **event, unsigned int flags) {
    int error;
    si_context *ctx = si_require_current(&error, true);
    if (ctx == NULL) return error;
    if (event == NULL || (flags & ~7u) != 0 || ((flags & 4) && !(flags & 2))) return SI_ERROR_INVALID_VALUE;
    si_event *e = calloc(1, sizeof *e);
    *e = (si_event){.ctx = ctx, .generation = ctx->generation, .flags = flags};
    si_register(e);
    *event = e;
    return SI_SUCCESS;
}

SI_EXPORT int cuEventDestroy_v2(si_event *event) {
    if (!event_live(event)) return SI_ERROR_INVALID_HANDLE;
    si_unregister(event);
    unref(event->last);
    free(event);
    return SI_SUCCESS;
}

SI_EXPORT int cuEventRecord(si_event *event, si_stream *cu_stream) {
    int error;
    si_stream *s = si_stream_of(cu_stream, &error);
    if (s == NULL) return error;
    if (!event_live(event)) return SI_ERROR_INVALID_HANDLE;
    if (event->ctx != s->ctx) {
        si_log("cuEventRecord: the event belongs to device %d, the stream to device %d", event->ctx->device->ordinal,
               s->ctx->device->ordinal);
        return SI_ERROR_INVALID_HANDLE;
    }
    mark *m = new_mark(2);  // the event's and the queued record's
    pthread_mutex_lock(&marks_lock);
    mark *old = event->last;
    event->last = m;
    pthread_mutex_unlock(&marks_lock);
    unref(old);
    si_launch_lock();
    error = si_enqueue(s, run_record, m, complete_record, "cuEventRecord");
    si_launch_unlock();
    return error;
}

// The event's current mark with a reference taken, or NULL if it was never recorded.
static mark *current_mark(si_event *e) {
    pthread_mutex_lock(&marks_lock);
    mark *m = e->last;
    if (m) atomic_fetch_add(&m->refs, 1);
    pthread_mutex_unlock(&marks_lock);
    return m;
}

SI_EXPORT int cuStreamWaitEvent(si_stream *cu_stream, si_event *event, unsigned int flags) {
    int error;
    si_stream *s = si_stream_of(cu_stream, &error);
    if (s == NULL) return error;
    if (!event_live(event)) return SI_ERROR_INVALID_HANDLE;  // any context's event may be waited for
    if (flags != 0) return SI_ERROR_INVALID_VALUE;
    mark *m = current_mark(event);
    if (m == NULL) return SI_SUCCESS;  // never recorded: nothing to wait for
    si_launch_lock();
    error = si_enqueue(s, run_wait, m, release_wait, "cuStreamWaitEvent");
    si_launch_unlock();
    return error;
}

// Whether the mark is done; if so the host has seen it: everything before the record happened
// before what the host does next.
static bool host_saw(mark *m) {
    pthread_mutex_lock(&marks_lock);
    bool done = m->done;
    pthread_mutex_unlock(&marks_lock);
    if (done) si_host_observe(&m->clock);
    return done;
}

SI_EXPORT int cuEventQuery(si_event *event) {
    if (!event_live(event)) return SI_ERROR_INVALID_HANDLE;
    int error = si_context_error(event->ctx);
    if (error != SI_SUCCESS) return error;
    mark *m = current_mark(event);
    if (m == NULL) return SI_SUCCESS;
    bool done = host_saw(m);
    unref(m);
    return done ? SI_SUCCESS : SI_ERROR_NOT_READY;
}

SI_EXPORT int cuEventSynchronize(si_event *event) {
    if (!event_live(event)) return SI_ERROR_INVALID_HANDLE;
    mark *m = current_mark(event);
    if (m == NULL) return SI_SUCCESS;
    bool done = wait_mark(m) && host_saw(m);
    unref(m);
    if (!done) {
        si_log("cuEventSynchronize: the event was not reached within %lld ms (LONGBOW_STANDIN_TIMEOUT_MS)",
               (long long)si_timeout_ms());
        return SI_ERROR_LAUNCH_TIMEOUT;
    }
    return si_context_error(event->ctx);
}

SI_EXPORT int cuEventElapsedTime_v2(float *ms, si_event *start, si_event *end) {
    if (ms == NULL) return SI_ERROR_INVALID_VALUE;
    if (!event_live(start) || !event_live(end)) return SI_ERROR_INVALID_HANDLE;
    if ((start->flags & 2) || (end->flags & 2)) return SI_ERROR_INVALID_HANDLE;  // made without timing
    pthread_mutex_lock(&marks_lock);
    mark *a = start->last, *b = end->last;
    int result = a == NULL || b == NULL ? SI_ERROR_INVALID_HANDLE : !a->done || !b->done ? SI_ERROR_NOT_READY : SI_SUCCESS;
    if (result == SI_SUCCESS) *ms = (float)(b->time_ms - a->time_ms);
    pthread_mutex_unlock(&marks_lock);
    return result;
}
