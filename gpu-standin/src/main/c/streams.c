// streams.c: streams and events.
//
// A stream is a worker thread running its queue in order, really asynchronously: the host goes
// on while it works, and a random delay before each operation (LONGBOW_STANDIN_JITTER_US,
// default 20) widens every window a missing wait leaves open. Two streams are ordered only by
// events (cuStreamWaitEvent); the legacy NULL stream also orders against blocking streams of its
// context, as CUDA's legacy default stream does. After a fault the context's queued work is
// skipped (events still complete, so nobody waits forever) and every call returns the error.
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
    char what[96];
} work;

struct si_stream {
    si_stream *next_all;    // every stream, under streams_lock
    si_context *ctx;
    uint64_t generation;
    unsigned flags;         // CU_STREAM_NON_BLOCKING (1) or 0
    bool legacy, ending;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t changed;
    work *head, *tail;
    uint64_t enqueued, completed;
};

static pthread_mutex_t streams_lock = PTHREAD_MUTEX_INITIALIZER;
static si_stream *all_streams;
static pthread_rwlock_t launch_lock = PTHREAD_RWLOCK_INITIALIZER;
static __thread char reason[512];

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
        pthread_mutex_lock(&s->mu);
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
    return NULL;  // the struct stays allocated: drains that saw it may still read its counters
}

si_stream *si_stream_create(si_context *ctx, unsigned flags) {
    si_stream *s = calloc(1, sizeof *s);
    s->ctx = ctx;
    s->generation = ctx->generation;
    s->flags = flags;
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

static void wait_completed(si_stream *s, uint64_t target) {
    pthread_mutex_lock(&s->mu);
    while (s->completed < target) pthread_cond_wait(&s->changed, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

int si_stream_wait(si_stream *s) {
    wait_completed(s, enqueued(s));
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
    for (int i = 0; i < n; i++) wait_completed(streams[i], targets[i]);
}

// ---- enqueueing --------------------------------------------------------------------------

typedef struct {
    si_stream *stream;
    uint64_t target;
} after;

static int run_after(void *arg) {
    after *a = arg;
    wait_completed(a->stream, a->target);
    return SI_SUCCESS;
}

static void push(si_stream *s, si_work_fn run, void *arg, si_release_fn release, const char *what) {
    work *w = calloc(1, sizeof *w);
    *w = (work){.run = run, .arg = arg, .release = release};
    snprintf(w->what, sizeof w->what, "%s", what);
    pthread_mutex_lock(&s->mu);
    if (s->tail) s->tail->next = w;
    else s->head = w;
    s->tail = w;
    s->enqueued++;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->mu);
}

static void push_after(si_stream *s, si_stream *other) {
    uint64_t target = enqueued(other);
    if (target == 0) return;
    after *a = malloc(sizeof *a);
    *a = (after){other, target};
    push(s, run_after, a, free, "legacy stream ordering");
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
    push(s, run, arg, release, what);
    return SI_SUCCESS;
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
    *stream = si_stream_create(ctx, flags);
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
    pthread_mutex_unlock(&s->mu);
    error = si_context_error(s->ctx);
    return error != SI_SUCCESS ? error : idle ? SI_SUCCESS : SI_ERROR_NOT_READY;
}

// ---- events ------------------------------------------------------------------------------

// One record of an event: what waits and queries refer to (a later record makes a new mark, so
// a wait enqueued before it still waits for the record it saw, as CUDA specifies).
typedef struct {
    atomic_int refs;
    bool done;
    double time_ms;
    char stream_name[32];
} mark;

typedef struct {
    si_context *ctx;
    uint64_t generation;
    unsigned flags;         // CU_EVENT_DISABLE_TIMING (2) ...
    mark *last;
} si_event;

static pthread_mutex_t marks_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t marks_changed = PTHREAD_COND_INITIALIZER;

static void unref(mark *m) {
    if (m && atomic_fetch_sub(&m->refs, 1) == 1) free(m);
}

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

static int run_record(void *arg) {
    mark *m = arg;
    m->time_ms = si_now_ms();
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
    mark *m = calloc(1, sizeof *m);
    atomic_init(&m->refs, 2);  // the event's and the queued record's
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
    if (!wait_mark(arg)) {
        snprintf(si_work_reason(), 512, "the event it waits for was not reached within %lld ms (LONGBOW_STANDIN_TIMEOUT_MS);"
                 " on a GPU this stream would wait forever", (long long)si_timeout_ms());
        return SI_ERROR_LAUNCH_TIMEOUT;
    }
    return SI_SUCCESS;
}

static void release_wait(void *arg) {
    unref(arg);
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

SI_EXPORT int cuEventQuery(si_event *event) {
    if (!event_live(event)) return SI_ERROR_INVALID_HANDLE;
    int error = si_context_error(event->ctx);
    if (error != SI_SUCCESS) return error;
    mark *m = current_mark(event);
    if (m == NULL) return SI_SUCCESS;
    pthread_mutex_lock(&marks_lock);
    bool done = m->done;
    pthread_mutex_unlock(&marks_lock);
    unref(m);
    return done ? SI_SUCCESS : SI_ERROR_NOT_READY;
}

SI_EXPORT int cuEventSynchronize(si_event *event) {
    if (!event_live(event)) return SI_ERROR_INVALID_HANDLE;
    mark *m = current_mark(event);
    if (m == NULL) return SI_SUCCESS;
    bool done = wait_mark(m);
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
