// nccl.c: the NCCL stand-in (liblongbow-standin-nccl.so): the NCCL 2.29 calls Longbow binds
// (bindings/nccl.includes), with ranks as threads of this process and every collective and
// send/recv run on the driver stand-in's stream workers.
//
// Rules modelled, from the NCCL User Guide ("Creating a communicator", "Collective
// operations", "In-place operations", "Point-to-point communication", "Group calls",
// "Communicator destruction", "Thread safety") and, for the error codes, NCCL's own
// init.cc, enqueue.cc, group.cc and argcheck.cc:
// - ncclGetUniqueId makes a random id. ncclCommInitRank blocks until all nranks ranks have
//   joined with it (ncclSystemError naming the absent ranks after LONGBOW_STANDIN_TIMEOUT_MS).
//   The rank runs on the device of the caller's current context; with none, on device 0, which is
//   what cudaGetDevice answers (logged: a rank thread without its context is usually a mistake).
//   A rank outside 0..nranks-1: ncclInvalidArgument; a rank joining twice, a different nranks,
//   or a used id: ncclInvalidUsage; two ranks on one device: ncclInvalidUsage on every rank
//   ("Multiple Ranks are using the same GPU"). ncclCommInitAll makes ndev ranks on devlist.
// - ncclCommSplit is collective over the parent: ranks of one color form a communicator ranked
//   by key, then parent rank, each on its parent rank's device; NCCL_SPLIT_NOCOLOR gets NULL.
// - Calls are checked when made (communicator, datatype, op, peer; the stream must be a live
//   stream of the communicator's device: ncclUnhandledCudaError, as NCCL's launch into it would
//   fail) and enqueued on the stream. Collectives of count 0 are discarded, as NCCL does.
//   Buffers are checked when the stream reaches the call: device memory of the communicator's
//   device or pinned host memory, element aligned, through si_memory (a fault otherwise).
// - A collective completes only when every rank's stream has reached the same call (the
//   communicator's n-th collective on every rank). Ranks compare kind, count, datatype and op
//   there; a mismatch fails every rank's stream with ncclInvalidUsage as the async error. Data
//   moves once all have arrived, into a private result that is written to the receive buffer
//   only after every rank has read every send buffer, so in-place calls (sendbuff == recvbuff;
//   an all-gather's sendbuff at recvbuff + rank * count; a reduce-scatter's recvbuff at sendbuff
//   + rank * count) are exact. Other overlaps of the two buffers are refused: NCCL leaves them
//   undefined. Floating types reduce in fp32 (fp64 for float64) rounded once to nearest even;
//   integers wrap; avg divides the sum (integers: the wrapped sum, truncated).
// - For the driver's race detector (races.c) a rank's collective reads its sendbuff and writes
//   its recvbuff, and its send/recv reads its send buffers and writes its receive buffers: the
//   reads peers make of a rank's send buffer are charged to that rank's own operation, which
//   cannot complete before them. The rendezvous orders the ranks: on arrival at a collective each
//   rank's stream joins every rank's clock (everything each rank did before the collective, and
//   the collective itself, happens before what any rank does after it; joining again once all
//   have read would add nothing, as no clock moves in between), and a send and its matching
//   receive join each other's.
// - The k-th send from A to B pairs with the k-th recv at B from A; their byte sizes must agree
//   (else ncclInvalidUsage). A send or recv outside a group waits on its stream for its partner,
//   so two ranks that each send first deadlock as they do on GPUs. The calls of a group are
//   issued at the outermost ncclGroupEnd: per communicator and stream, its collectives in order,
//   then its sends and receives as one operation whose pairs progress together.
// - What hangs on a GPU fails here after LONGBOW_STANDIN_TIMEOUT_MS: the stream operation fails
//   (CUDA_ERROR_LAUNCH_TIMEOUT, sticky in the context) with the reason logged, and the async
//   error becomes ncclRemoteError. A rank arriving later at a call its peers gave up on fails at
//   once.
// - ncclCommFinalize waits until the rank's queued calls have run; ncclCommDestroy finalizes if
//   that was not done. ncclCommAbort frees the communicator at once: its calls that are waiting
//   (or not yet started) end without moving data and without a CUDA error, as NCCL's kernels quit
//   on the abort flag. Peers are not told: like intra-node NCCL they wait, until the timeout.
// - ncclGetLastError returns the calling thread's last failure (NCCL keeps one per process;
//   per thread is what is meaningful with ranks as threads), including an async error once
//   ncclCommGetAsyncError has reported it.
// Everything is thread safe: one lock guards all shared state, and data moves outside it.
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "kernel.h"
#include "standin.h"

// ---- nccl.h (2.29.7): the values of bindings/.../nccl/nccl_h.java --------------------------

enum { ncclSuccess, ncclUnhandledCudaError, ncclSystemError, ncclInternalError, ncclInvalidArgument, ncclInvalidUsage,
       ncclRemoteError, ncclInProgress };
enum { ncclInt8, ncclUint8, ncclInt32, ncclUint32, ncclInt64, ncclUint64, ncclFloat16, ncclFloat32, ncclFloat64,
       ncclBfloat16, TYPES };
enum { ncclSum, ncclProd, ncclMax, ncclMin, ncclAvg, OPS };
#define NCCL_VERSION_CODE 22907
#define NCCL_SPLIT_NOCOLOR (-1)

typedef struct {
    char internal[128];  // NCCL_UNIQUE_ID_BYTES
} ncclUniqueId;
typedef struct ncclComm ncclComm;

// The CUDA driver API, as the real NCCL reaches it through cudaGetDeviceCount.
int cuDeviceGetCount(int *count);

static const struct {
    const char *name;
    size_t size;
} types[TYPES] = {{"int8", 1}, {"uint8", 1}, {"int32", 4}, {"uint32", 4}, {"int64", 8},
                  {"uint64", 8}, {"float16", 2}, {"float32", 4}, {"float64", 8}, {"bfloat16", 2}};
static const char *const op_names[OPS] = {"sum", "prod", "max", "min", "avg"};

enum { ALL_REDUCE, ALL_GATHER, REDUCE_SCATTER, SEND, RECV };  // kinds of call; SEND and RECV last
static const char *const kind_names[] = {"AllReduce", "AllGather", "ReduceScatter", "Send", "Recv"};

// ---- state -------------------------------------------------------------------------------

typedef struct {           // one rank's side of a rendezvous
    bool present;
    int kind, dtype, op;   // a collective: what the rank called
    size_t count;
    const uint8_t *send;   // its send buffer, as the stand-in reads it
    si_clock *clock;       // its stream's clock on arrival
    int color, key;        // a split: its arguments and its new communicator (or NULL)
    ncclComm *result;
} part;

typedef struct slot {      // where the ranks meet for one collective (or one split)
    struct slot *next;
    bool split, abandoned, built;
    uint64_t seq;
    int arrived, read, left;
    part parts[];          // one per rank
} slot;

typedef struct msg {       // the seq-th send from src to dst and the seq-th recv at dst from src
    struct msg *next;
    int src, dst, left;
    uint64_t seq;
    const uint8_t *from;
    uint8_t *to;
    si_clock *send_clock, *recv_clock;  // the two streams' clocks when they posted
    size_t send_bytes, recv_bytes;
    bool sent, received, copying, done, failed, abandoned;
} msg;

typedef struct {           // what the ranks of one communicator share
    int serial, nranks, joined, refs;  // refs: communicators, and ranks still joining
    bool *present;         // ncclCommInitRank: which ranks have joined
    char *missing;         // ncclCommInitRank: the absent ranks, once the first rank gave up
    int *devices;
    slot *slots;
    msg *msgs;
} clique;

struct ncclComm {
    ncclComm *next;        // the live communicators
    clique *q;
    int rank, device, refs;  // refs: the handle's, and one per queued operation
    uint64_t colls, splits, *sends, *recvs;  // calls so far: collectives, splits, sends and receives per peer
    uint64_t queued, finished;
    bool finalized, aborted;
    int async;
    char async_why[512];
};

typedef struct id_entry {  // every id ncclGetUniqueId made
    struct id_entry *next;
    ncclUniqueId id;
    clique *q;             // while its ranks join
    bool used;             // all joined: the id is spent
} id_entry;

typedef struct {           // one call, checked, until its group is issued
    int kind;
    ncclComm *comm;
    si_stream *stream;
    uint64_t send, recv;
    size_t count;
    int dtype, op, peer;
} call;

typedef struct {           // what a stream runs: one collective, or a group's sends and receives
    ncclComm *comm;
    bool grouped;
    int n;
    struct {
        call c;
        uint64_t seq;
    } items[];
} op;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;  // everything shared
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER; // broadcast on every change
static ncclComm *live;
static id_entry *ids;
static int serials;

static __thread char last_error[1024];
static __thread struct {
    int depth, n, capacity, error;
    call *calls;
} group;

// ---- helpers -----------------------------------------------------------------------------

// Records and logs a failure of the calling thread's NCCL call; returns `result`.
__attribute__((format(printf, 2, 3))) static int fail(int result, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, args);
    va_end(args);
    si_log("%s", last_error);
    return result;
}

static struct timespec deadline(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    int64_t ms = si_timeout_ms();
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000;
    if (t.tv_nsec >= 1000000000) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000;
    }
    return t;
}

// Waits (lock held) for a change; false once `until` has passed. Callers loop on their
// condition, so it is checked once more after the deadline.
static bool wait_change(const struct timespec *until) {
    return pthread_cond_timedwait(&changed, &lock, until) != ETIMEDOUT;
}

// "1, 3": the ranks whose flag (at `flags`, one each `stride` bytes) is false.
static void absent(char *out, size_t size, int n, const bool *flags, size_t stride) {
    size_t used = 0;
    out[0] = '\0';
    for (int r = 0; r < n && used < size; r++) {
        if (!*(const bool *)((const char *)flags + (size_t)r * stride)) {
            used += (size_t)snprintf(out + used, size - used, "%s%d", used ? ", " : "", r);
        }
    }
}

static void describe(char *out, size_t size, const part *p, uint64_t seq) {
    snprintf(out, size, "%s #%llu (%zu x %s%s%s)", kind_names[p->kind], (unsigned long long)seq, p->count,
             types[p->dtype].name, p->kind == ALL_GATHER ? "" : ", ", p->kind == ALL_GATHER ? "" : op_names[p->op]);
}

// ---- communicators (lock held) -----------------------------------------------------------

static clique *new_clique(int nranks) {
    clique *q = calloc(1, sizeof *q);
    q->serial = ++serials;
    q->nranks = nranks;
    q->present = calloc((size_t)nranks, sizeof *q->present);
    q->devices = calloc((size_t)nranks, sizeof *q->devices);
    return q;
}

static void free_slot(const clique *q, slot *s) {
    for (int r = 0; r < q->nranks; r++) si_clock_free(s->parts[r].clock);
    free(s);
}

static void free_msg(msg *m) {
    si_clock_free(m->send_clock);
    si_clock_free(m->recv_clock);
    free(m);
}

static void unref_clique(clique *q) {
    if (--q->refs > 0) return;
    while (q->slots) {
        slot *s = q->slots;
        q->slots = s->next;
        free_slot(q, s);
    }
    while (q->msgs) {
        msg *m = q->msgs;
        q->msgs = m->next;
        free_msg(m);
    }
    free(q->present);
    free(q->missing);
    free(q->devices);
    free(q);
}

static ncclComm *new_comm(clique *q, int rank, int device) {
    ncclComm *c = calloc(1, sizeof *c);
    c->q = q;
    q->refs++;
    q->devices[rank] = device;
    c->rank = rank;
    c->device = device;
    c->refs = 1;
    c->sends = calloc((size_t)q->nranks, sizeof *c->sends);
    c->recvs = calloc((size_t)q->nranks, sizeof *c->recvs);
    c->next = live;
    live = c;
    return c;
}

static void unref(ncclComm *c) {
    if (--c->refs > 0) return;
    unref_clique(c->q);
    free(c->sends);
    free(c->recvs);
    free(c);
}

static void unlink_comm(ncclComm *c) {
    for (ncclComm **l = &live; *l; l = &(*l)->next) {
        if (*l == c) {
            *l = c->next;
            return;
        }
    }
}

static int check_comm(ncclComm *c, const char *fn) {
    if (c == NULL) return fail(ncclInvalidArgument, "%s : comm argument is NULL", fn);
    for (ncclComm *l = live; l; l = l->next) {
        if (l == c) return ncclSuccess;
    }
    return fail(ncclInvalidArgument, "%s: comm %p is not a live communicator (destroyed, aborted, or never made)", fn,
                (void *)c);
}

static void set_async(ncclComm *c, int result, const char *why) {
    if (c->async == ncclSuccess) {
        c->async = result;
        snprintf(c->async_why, sizeof c->async_why, "%s", why);
    }
}

static slot *slot_of(clique *q, bool split, uint64_t seq) {
    for (slot *s = q->slots; s; s = s->next) {
        if (s->split == split && s->seq == seq) return s;
    }
    slot *s = calloc(1, sizeof *s + (size_t)q->nranks * sizeof(part));
    s->split = split;
    s->seq = seq;
    s->next = q->slots;
    q->slots = s;
    return s;
}

// Every rank that arrived leaves once; the last one frees the slot.
static void leave_slot(clique *q, slot *s) {
    if (++s->left < q->nranks) return;
    for (slot **l = &q->slots; *l; l = &(*l)->next) {
        if (*l == s) {
            *l = s->next;
            break;
        }
    }
    free_slot(q, s);
}

static msg *msg_of(clique *q, int src, int dst, uint64_t seq) {
    for (msg *m = q->msgs; m; m = m->next) {
        if (m->src == src && m->dst == dst && m->seq == seq) return m;
    }
    msg *m = calloc(1, sizeof *m);
    *m = (msg){.next = q->msgs, .src = src, .dst = dst, .seq = seq};
    q->msgs = m;
    return m;
}

// The sender and the receiver leave once each (the same rank twice for a send to itself).
static void leave_msg(clique *q, msg *m) {
    if (++m->left < 2) return;
    for (msg **l = &q->msgs; *l; l = &(*l)->next) {
        if (*l == m) {
            *l = m->next;
            break;
        }
    }
    free_msg(m);
}

// ---- data --------------------------------------------------------------------------------

static uint64_t load_int(int t, const uint8_t *p, size_t i) {
    switch (t) {
        case ncclInt8: return (uint64_t)(int64_t)((const int8_t *)p)[i];
        case ncclUint8: return p[i];
        case ncclInt32: return (uint64_t)(int64_t)((const int32_t *)p)[i];
        case ncclUint32: return ((const uint32_t *)p)[i];
        default: return ((const uint64_t *)p)[i];
    }
}

static void store_int(int t, uint8_t *p, size_t i, uint64_t v) {
    switch (types[t].size) {
        case 1: p[i] = (uint8_t)v; break;
        case 4: ((uint32_t *)p)[i] = (uint32_t)v; break;
        default: ((uint64_t *)p)[i] = v; break;
    }
}

#define COMBINE(op, a, b) \
    ((op) == ncclProd ? (a) * (b) : (op) == ncclMax ? ((b) > (a) ? (b) : (a)) : (op) == ncclMin ? ((b) < (a) ? (b) : (a)) : (a) + (b))

// out[i] = op over ranks of element first + i of their send buffers.
static void reduce(const part *parts, int n, size_t first, size_t count, int dtype, int op, uint8_t *out) {
    const uint8_t **in = malloc((size_t)n * sizeof *in);
    for (int r = 0; r < n; r++) in[r] = parts[r].send + first * types[dtype].size;
    if (dtype == ncclFloat64) {
        for (size_t i = 0; i < count; i++) {
            double a = ((const double *)in[0])[i];
            for (int r = 1; r < n; r++) a = COMBINE(op, a, ((const double *)in[r])[i]);
            ((double *)out)[i] = op == ncclAvg ? a / n : a;
        }
    } else if (dtype == ncclFloat32 || dtype == ncclFloat16 || dtype == ncclBfloat16) {
        si_float_type t = dtype == ncclFloat32 ? SI_F32 : dtype == ncclFloat16 ? SI_F16 : SI_BF16;
        for (size_t i = 0; i < count; i++) {
            float a = si_load(t, in[0], (int64_t)i);
            for (int r = 1; r < n; r++) a = COMBINE(op, a, si_load(t, in[r], (int64_t)i));
            si_store(t, out, (int64_t)i, op == ncclAvg ? a / (float)n : a);
        }
    } else {
        bool is_signed = dtype == ncclInt8 || dtype == ncclInt32 || dtype == ncclInt64;
        for (size_t i = 0; i < count; i++) {
            uint64_t a = load_int(dtype, in[0], i);  // signed types sign-extended
            for (int r = 1; r < n; r++) {
                uint64_t b = load_int(dtype, in[r], i);
                if (op == ncclMax || op == ncclMin) {
                    bool greater = is_signed ? (int64_t)b > (int64_t)a : b > a;
                    if (greater == (op == ncclMax)) a = b;
                } else {
                    a = op == ncclProd ? a * b : a + b;
                }
            }
            store_int(dtype, out, i, a);
            if (op == ncclAvg) {
                uint64_t sum = load_int(dtype, out, i);  // wrapped to the type, as NCCL's sum is
                store_int(dtype, out, i, is_signed ? (uint64_t)((int64_t)sum / n) : sum / (uint64_t)n);
            }
        }
    }
    free(in);
}

// The stand-in's view of a buffer an operation touches: device memory of the communicator's
// device, or pinned host memory, aligned to its elements. NULL after writing the fault.
static uint8_t *buffer(const ncclComm *c, uint64_t address, size_t bytes, int dtype, si_access access, const char *name, int *error) {
    if (bytes == 0) return (uint8_t *)&types;  // touched by nobody: any non-NULL pointer
    char detail[256];
    uint8_t *p = si_memory(address, bytes, types[dtype].size, access, error, detail);
    if (p == NULL) {
        snprintf(si_work_reason(), 512, "rank %d's %s: %s", c->rank, name, detail);
        return NULL;
    }
    int owner = si_memory_device(address);
    if (owner >= 0 && owner != c->device) {
        *error = SI_ERROR_ILLEGAL_ADDRESS;
        snprintf(si_work_reason(), 512, "rank %d's %s 0x%llx is device %d's memory; the communicator runs on device %d",
                 c->rank, name, (unsigned long long)address, owner, c->device);
        return NULL;
    }
    return p;
}

// ---- stream operations -------------------------------------------------------------------

static int run_collective(void *arg) {
    op *o = arg;
    ncclComm *c = o->comm;
    const call *k = &o->items[0].c;
    uint64_t seq = o->items[0].seq;
    clique *q = c->q;
    int n = q->nranks, error = SI_SUCCESS;
    size_t size = types[k->dtype].size, in = k->kind == REDUCE_SCATTER ? n * k->count : k->count,
           out = k->kind == ALL_GATHER ? n * k->count : k->count;
    const uint8_t *send = buffer(c, k->send, in * size, k->dtype, SI_READ, "sendbuff", &error);
    uint8_t *recv = send ? buffer(c, k->recv, out * size, k->dtype, SI_WRITE, "recvbuff", &error) : NULL;
    if (recv == NULL) return error;
    part call_part = {.present = true, .kind = k->kind, .count = k->count, .dtype = k->dtype, .op = k->op, .send = send};
    char *why = si_work_reason(), what[128], who[256];
    describe(what, sizeof what, &call_part, seq);

    pthread_mutex_lock(&lock);
    bool aborted = c->aborted;
    slot *s = aborted ? NULL : slot_of(q, false, seq);
    if (s != NULL) {
        s->parts[c->rank] = call_part;
        s->parts[c->rank].clock = si_clock_snapshot();
        s->arrived++;
        pthread_cond_broadcast(&changed);
        struct timespec until = deadline();
        while (s->arrived < n && !s->abandoned && !c->aborted && wait_change(&until)) {
        }
        aborted = c->aborted && s->arrived < n;  // once all have arrived, peers read this rank's buffer: go on
    }
    if (s != NULL && s->arrived < n) {  // aborted, timed out, or given up on by a peer that timed out
        absent(who, sizeof who, n, &s->parts[0].present, sizeof(part));
        if (!aborted) {
            snprintf(why, 512, "communicator %d rank %d: %s: rank(s) %s %s", q->serial, c->rank, what, who,
                     s->abandoned ? "gave up on it or never reached it" : "never reached it within LONGBOW_STANDIN_TIMEOUT_MS"
                                                                          " (on GPUs this collective would hang)");
            set_async(c, ncclRemoteError, why);
            s->abandoned = true;  // ranks that come later fail at once
        }
        s->parts[c->rank].present = false;
        s->arrived--;
        leave_slot(q, s);
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
        if (aborted) si_log("communicator %d rank %d: %s ended by ncclCommAbort", q->serial, c->rank, what);
        return aborted ? SI_SUCCESS : SI_ERROR_LAUNCH_TIMEOUT;
    }
    if (s == NULL) {  // reached after ncclCommAbort: NCCL's kernel would quit at once
        pthread_mutex_unlock(&lock);
        si_log("communicator %d rank %d: %s ended by ncclCommAbort", q->serial, c->rank, what);
        return SI_SUCCESS;
    }
    for (int r = 1; r < n; r++) {
        const part *first = &s->parts[0], *other = &s->parts[r];
        if (first->kind != other->kind || first->count != other->count || first->dtype != other->dtype ||
            (first->kind != ALL_GATHER && first->op != other->op)) {
            char a[128], b[128];
            describe(a, sizeof a, first, seq);
            describe(b, sizeof b, other, seq);
            snprintf(why, 512, "communicator %d: the ranks' collective calls #%llu differ: rank 0 calls %s, rank %d calls %s",
                     q->serial, (unsigned long long)seq, a, r, b);
            set_async(c, ncclInvalidUsage, why);
            leave_slot(q, s);  // every rank sees the mismatch; none reads
            pthread_mutex_unlock(&lock);
            return SI_ERROR_LAUNCH_FAILED;
        }
    }
    for (int r = 0; r < n; r++) si_clock_join_running(s->parts[r].clock);
    pthread_mutex_unlock(&lock);

    // Every rank has arrived and waits below until all have read: the send buffers are stable.
    uint8_t *result = malloc(out * size);
    if (k->kind == ALL_GATHER) {
        for (int r = 0; r < n; r++) memcpy(result + (size_t)r * k->count * size, s->parts[r].send, k->count * size);
    } else {
        reduce(s->parts, n, k->kind == REDUCE_SCATTER ? (size_t)c->rank * k->count : 0, k->count, k->dtype, k->op, result);
    }
    pthread_mutex_lock(&lock);
    s->read++;
    pthread_cond_broadcast(&changed);
    while (s->read < n) pthread_cond_wait(&changed, &lock);  // every rank that arrived reads: this ends
    leave_slot(q, s);
    pthread_mutex_unlock(&lock);
    memcpy(recv, result, out * size);
    free(result);
    return SI_SUCCESS;
}

// Passes over a send/recv op's calls (lock held), copying what can be received, until nothing
// more moves; returns how many calls still wait for their partner, or -1 after writing a failure.
static int progress(op *o, msg **msgs, bool *finished) {
    ncclComm *c = o->comm;
    char *why = si_work_reason();
    int pending = 0;
    for (bool again = true; again;) {  // a copy may complete a send of this same op (to itself)
        again = false;
        pending = 0;
        for (int i = 0; i < o->n; i++) {
            msg *m = msgs[i];
            bool receives = o->items[i].c.kind == RECV;
            if (finished[i]) continue;
            if (receives && m->sent && !m->done && m->send_bytes != m->recv_bytes) {
                m->failed = m->done = true;  // the sender fails with the same reason on its own stream
            }
            if (m->failed || m->abandoned) {  // a size mismatch is the reason even once the receiver has left
                int n = snprintf(why, 512, "communicator %d rank %d: send #%llu from rank %d to rank %d ", c->q->serial, c->rank,
                                 (unsigned long long)m->seq, m->src, m->dst);
                if (m->failed) {
                    snprintf(why + n, 512 - (size_t)n, "is %zu bytes, the matching recv takes %zu (count x datatype must agree)",
                             m->send_bytes, m->recv_bytes);
                } else {
                    snprintf(why + n, 512 - (size_t)n, "was given up by its peer (its stream failed or timed out first)");
                }
                set_async(c, m->failed ? ncclInvalidUsage : ncclRemoteError, why);
                return -1;
            }
            if (receives && m->sent && !m->copying) {
                m->copying = true;
                pthread_mutex_unlock(&lock);
                memcpy(m->to, m->from, m->recv_bytes);  // the sender waits for done: its buffer is stable
                pthread_mutex_lock(&lock);
                m->done = again = true;
            }
            if (m->done) {  // the pair is complete: each side knows what the other knew
                finished[i] = true;
                si_clock_join_running(receives ? m->send_clock : m->recv_clock);
            }
            pending += !m->done;
        }
    }
    return pending;
}

static int run_p2p(void *arg) {
    op *o = arg;
    ncclComm *c = o->comm;
    clique *q = c->q;
    int error = SI_SUCCESS, result = SI_SUCCESS, pending = 0;
    uint8_t **data = calloc((size_t)o->n, sizeof *data);
    msg **msgs = calloc((size_t)o->n, sizeof *msgs);
    bool *finished = calloc((size_t)o->n, sizeof *finished);
    for (int i = 0; i < o->n && error == SI_SUCCESS; i++) {
        const call *k = &o->items[i].c;
        bool sends = k->kind == SEND;
        data[i] = buffer(c, sends ? k->send : k->recv, k->count * types[k->dtype].size, k->dtype, sends ? SI_READ : SI_WRITE,
                         sends ? "send buffer" : "recv buffer", &error);
    }
    pthread_mutex_lock(&lock);
    bool aborted = c->aborted;  // reached after ncclCommAbort: nothing to do
    if (error == SI_SUCCESS && !aborted) {
        for (int i = 0; i < o->n; i++) {  // post every call first: the pairs of one group cannot deadlock
            const call *k = &o->items[i].c;
            bool sends = k->kind == SEND;
            msg *m = msgs[i] = msg_of(q, sends ? c->rank : k->peer, sends ? k->peer : c->rank, o->items[i].seq);
            if (sends) {
                m->from = data[i];
                m->send_bytes = k->count * types[k->dtype].size;
                m->send_clock = si_clock_snapshot();
                m->sent = true;
            } else {
                m->to = data[i];
                m->recv_bytes = k->count * types[k->dtype].size;
                m->recv_clock = si_clock_snapshot();
                m->received = true;
            }
        }
        struct timespec until = deadline();
        for (bool last = false;; last = !wait_change(&until)) {
            pending = progress(o, msgs, finished);
            pthread_cond_broadcast(&changed);
            aborted = c->aborted;
            if (pending <= 0 || aborted || last) break;
        }
        aborted = aborted && pending > 0;  // it ended the op, rather than coinciding with its end
        result = pending < 0 ? SI_ERROR_LAUNCH_FAILED : pending > 0 && !aborted ? SI_ERROR_LAUNCH_TIMEOUT : SI_SUCCESS;
        if (result == SI_ERROR_LAUNCH_TIMEOUT) {
            char list[256] = "";
            size_t used = 0;
            for (int i = 0, shown = 0; i < o->n && shown < 4 && used < sizeof list; i++) {
                const call *k = &o->items[i].c;
                if (finished[i]) continue;
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s #%llu %s rank %d", shown++ ? ", " : "",
                                         k->kind == SEND ? "send" : "recv", (unsigned long long)o->items[i].seq,
                                         k->kind == SEND ? "to" : "from", k->peer);
            }
            snprintf(si_work_reason(), 512, "communicator %d rank %d: after LONGBOW_STANDIN_TIMEOUT_MS, %d of %d calls had no"
                     " partner: %s%s", q->serial, c->rank, pending, o->n, list,
                     o->grouped ? "" : ". A send/recv pair outside ncclGroupStart/ncclGroupEnd may deadlock: each rank's send"
                                       " waits for its peer's recv, queued behind the peer's own send; issue both in one group");
            set_async(c, ncclRemoteError, si_work_reason());
        }
        for (int i = 0; i < o->n; i++) {
            msg *m = msgs[i];
            if (!finished[i] && !m->copying) {  // nobody touches this side's buffer once we return
                if (o->items[i].c.kind == SEND) m->sent = false;
                else m->received = false;
                m->abandoned |= result != SI_SUCCESS;  // a failure ends the pair; an abort leaves the peer waiting
            }
            leave_msg(q, m);
        }
        pthread_cond_broadcast(&changed);
    }
    pthread_mutex_unlock(&lock);
    if (aborted && error == SI_SUCCESS) si_log("communicator %d rank %d: send/recv ended by ncclCommAbort", q->serial, c->rank);
    free(data);
    free(msgs);
    free(finished);
    return error != SI_SUCCESS ? error : result;
}

static void release_op(void *arg) {  // also when the stream skips the op (its context has failed)
    op *o = arg;
    pthread_mutex_lock(&lock);
    o->comm->finished++;
    pthread_cond_broadcast(&changed);
    unref(o->comm);
    pthread_mutex_unlock(&lock);
    free(o);
}

// Numbers the op's calls and queues it (launch lock held; takes `o`).
static int enqueue(op *o, si_stream *stream, si_work_fn run) {
    ncclComm *c = o->comm;
    char what[96];
    snprintf(what, sizeof what, "nccl%s on communicator %d rank %d", o->n == 1 ? kind_names[o->items[0].c.kind] : "Send/Recv group",
             c->q->serial, c->rank);
    pthread_mutex_lock(&lock);
    int result = check_comm(c, what);
    if (result == ncclSuccess) {
        for (int i = 0; i < o->n; i++) {
            const call *k = &o->items[i].c;
            o->items[i].seq = k->kind == SEND ? ++c->sends[k->peer] : k->kind == RECV ? ++c->recvs[k->peer] : ++c->colls;
        }
        c->refs++;
        c->queued++;
    }
    pthread_mutex_unlock(&lock);
    if (result != ncclSuccess) {
        free(o);
        return result;
    }
    int error = si_enqueue(stream, run, o, release_op, what);
    return error ? fail(ncclUnhandledCudaError, "%s: the stream's context has failed (CUDA error %d)", what, error) : ncclSuccess;
}

static op *new_op(ncclComm *comm, int n, bool grouped) {
    op *o = calloc(1, sizeof *o + (size_t)n * sizeof o->items[0]);
    o->comm = comm;
    o->grouped = grouped;
    return o;
}

// Issues the thread's collected calls: per communicator and stream, in order of first use, its
// collectives one by one, then its sends and receives as one op.
static int flush(bool grouped) {
    call *calls = group.calls;
    int n = group.n, result = group.error;
    group.calls = NULL;
    group.n = group.capacity = 0;
    group.error = ncclSuccess;
    bool *taken = calloc((size_t)n + 1, sizeof *taken);
    si_launch_lock();
    for (int i = 0; i < n && result == ncclSuccess; i++) {
        if (taken[i]) continue;
        int p2p = 0;
        for (int j = i; j < n && result == ncclSuccess; j++) {
            if (taken[j] || calls[j].comm != calls[i].comm || calls[j].stream != calls[i].stream) continue;
            if (calls[j].kind >= SEND) {
                p2p++;
            } else {
                taken[j] = true;
                op *o = new_op(calls[j].comm, 1, grouped);
                o->items[0].c = calls[j];
                o->n = 1;
                result = enqueue(o, calls[j].stream, run_collective);
            }
        }
        if (p2p > 0 && result == ncclSuccess) {
            op *o = new_op(calls[i].comm, p2p, grouped);
            for (int j = i; j < n; j++) {
                if (!taken[j] && calls[j].comm == calls[i].comm && calls[j].stream == calls[i].stream) {
                    taken[j] = true;
                    o->items[o->n++].c = calls[j];
                }
            }
            result = enqueue(o, calls[i].stream, run_p2p);
        }
    }
    si_launch_unlock();
    pthread_mutex_lock(&lock);
    for (int i = 0; i < n; i++) unref(calls[i].comm);  // the references the group held
    pthread_mutex_unlock(&lock);
    free(calls);
    free(taken);
    return result;
}

// The checks NCCL makes when a collective or send/recv is called (ArgsCheck, and the launch
// into the stream); sets k->stream.
static int check_call(const char *fn, call *k, void *cu_stream) {
    const ncclComm *c = k->comm;
    int error, n = c->q->nranks;
    size_t size = k->dtype >= 0 && k->dtype < TYPES ? types[k->dtype].size : 0;
    k->stream = si_stream_any(cu_stream, &error);
    if (size == 0) return fail(ncclInvalidArgument, "%s : invalid type %d", fn, k->dtype);
    if ((k->kind == ALL_REDUCE || k->kind == REDUCE_SCATTER) && (k->op < 0 || k->op >= OPS)) {
        return fail(ncclInvalidArgument, "%s : invalid reduction operation %d", fn, k->op);
    }
    if (k->kind >= SEND && (k->peer < 0 || k->peer >= n)) {
        return fail(ncclInvalidArgument, "%s : invalid root %d (root should be in the 0..%d range)", fn, k->peer, n);
    }
    if (k->stream == NULL) {
        return fail(ncclUnhandledCudaError, "%s: stream %p is not a live CUDA stream (CUDA error %d)", fn, cu_stream, error);
    }
    int device = si_context_device(si_stream_context(k->stream));
    if (device != c->device) {
        return fail(ncclUnhandledCudaError, "%s: stream %p belongs to device %d, but rank %d of the communicator runs on device %d",
                    fn, cu_stream, device, c->rank, c->device);
    }
    if (k->kind >= SEND || k->count == 0) return ncclSuccess;
    // In place as the User Guide defines it; any other overlap is undefined in NCCL.
    uint64_t shift = (uint64_t)c->rank * k->count * size;
    uint64_t in = (k->kind == REDUCE_SCATTER ? n : 1) * k->count * size, out = (k->kind == ALL_GATHER ? n : 1) * k->count * size;
    bool in_place = k->kind == ALL_REDUCE   ? k->send == k->recv
                  : k->kind == ALL_GATHER ? k->send == k->recv + shift
                                          : k->recv == k->send + shift;
    if (!in_place && k->send < k->recv + out && k->recv < k->send + in) {
        return fail(ncclInvalidArgument, "%s: sendbuff 0x%llx (%llu bytes) and recvbuff 0x%llx (%llu bytes) overlap but are not"
                    " in place (%s); NCCL's result would be undefined", fn, (unsigned long long)k->send, (unsigned long long)in,
                    (unsigned long long)k->recv, (unsigned long long)out,
                    k->kind == ALL_REDUCE ? "sendbuff == recvbuff" : k->kind == ALL_GATHER ? "sendbuff == recvbuff + rank * sendcount"
                                                                                          : "recvbuff == sendbuff + rank * recvcount");
    }
    return ncclSuccess;
}

// Checks a call and collects it into the thread's group, issued at once outside a group. A
// failed call inside a group fails the group. Empty collectives are discarded, as NCCL does.
static int submit(const char *fn, call k, void *cu_stream) {
    pthread_mutex_lock(&lock);
    int result = check_comm(k.comm, fn);
    if (result == ncclSuccess && k.comm->finalized) result = fail(ncclInvalidUsage, "%s: the communicator was finalized", fn);
    bool held = result == ncclSuccess;
    if (held) k.comm->refs++;  // the group's, until it is issued
    pthread_mutex_unlock(&lock);
    if (held) result = check_call(fn, &k, cu_stream);
    if (result != ncclSuccess && group.depth > 0 && group.error == ncclSuccess) group.error = result;
    if (result != ncclSuccess || (k.count == 0 && k.kind < SEND)) {
        if (held) {
            pthread_mutex_lock(&lock);
            unref(k.comm);
            pthread_mutex_unlock(&lock);
        }
        return result;
    }
    if (group.n == group.capacity) {
        group.capacity = group.capacity ? 2 * group.capacity : 16;
        group.calls = realloc(group.calls, (size_t)group.capacity * sizeof *group.calls);
    }
    group.calls[group.n++] = k;
    return group.depth > 0 ? ncclSuccess : flush(false);
}

// ---- API: versions and errors ------------------------------------------------------------

SI_EXPORT int ncclGetVersion(int *version) {
    if (version == NULL) return fail(ncclInvalidArgument, "ncclGetVersion : version argument is NULL");
    *version = NCCL_VERSION_CODE;
    return ncclSuccess;
}

SI_EXPORT const char *ncclGetErrorString(int result) {
    switch (result) {  // NCCL's own wording
        case ncclSuccess: return "no error";
        case ncclUnhandledCudaError: return "unhandled cuda error (run with NCCL_DEBUG=INFO for details)";
        case ncclSystemError: return "unhandled system error (run with NCCL_DEBUG=INFO for details)";
        case ncclInternalError: return "internal error - please report this issue to the NCCL developers";
        case ncclInvalidArgument: return "invalid argument (run with NCCL_DEBUG=WARN for details)";
        case ncclInvalidUsage: return "invalid usage (run with NCCL_DEBUG=WARN for details)";
        case ncclRemoteError: return "remote process exited or there was a network error";
        case ncclInProgress: return "NCCL operation in progress";
        default: return "unknown result code";
    }
}

SI_EXPORT const char *ncclGetLastError(ncclComm *comm) {
    return last_error;
}

// ---- API: communicators ------------------------------------------------------------------

SI_EXPORT int ncclGetUniqueId(ncclUniqueId *out) {
    if (out == NULL) return fail(ncclInvalidArgument, "ncclGetUniqueId : uniqueId argument is NULL");
    if (getrandom(out, sizeof *out, 0) != (ssize_t)sizeof *out) {
        return fail(ncclSystemError, "ncclGetUniqueId: getrandom: %s", strerror(errno));
    }
    id_entry *e = calloc(1, sizeof *e);
    e->id = *out;
    pthread_mutex_lock(&lock);
    e->next = ids;
    ids = e;
    pthread_mutex_unlock(&lock);
    return ncclSuccess;
}

// The device a new rank runs on: the current context's or, with none, device 0 (cudaGetDevice's
// answer on a thread that never chose one).
static int current_device(const char *fn, int *device) {
    si_context *ctx = si_current();
    if (ctx != NULL) {
        *device = si_context_device(ctx);
        int error = si_context_error(ctx);
        if (error) return fail(ncclUnhandledCudaError, "%s: device %d's context has failed (CUDA error %d)", fn, *device, error);
        return ncclSuccess;
    }
    int count = 0, error = cuDeviceGetCount(&count);
    if (error || count == 0) {
        return fail(ncclUnhandledCudaError, "%s: cudaGetDevice failed: cuDeviceGetCount gives error %d, %d devices", fn, error, count);
    }
    si_log("%s: no current context on this thread, so the rank runs on device 0, as cudaGetDevice answers", fn);
    *device = 0;
    return ncclSuccess;
}

SI_EXPORT int ncclCommInitRank(ncclComm **comm, int nranks, ncclUniqueId id, int rank) {
    const char *fn = "ncclCommInitRank";
    if (comm == NULL) return fail(ncclInvalidArgument, "%s : newcomm argument is NULL", fn);
    *comm = NULL;
    if (nranks < 1 || rank < 0 || rank >= nranks) {
        return fail(ncclInvalidArgument, "%s: Invalid rank requested : %d/%d", fn, rank, nranks);
    }
    if (group.depth > 0) return fail(ncclInvalidUsage, "%s inside a group is not modelled by the stand-in (use ncclCommInitAll)", fn);
    int device = 0, result = current_device(fn, &device);
    if (result != ncclSuccess) return result;

    pthread_mutex_lock(&lock);
    id_entry *e = ids;
    while (e && memcmp(&e->id, &id, sizeof id) != 0) e = e->next;
    clique *q = e && !e->used ? e->q : NULL;
    if (e == NULL) {
        result = fail(ncclSystemError, "%s: rank %d: the unique id was not made by ncclGetUniqueId in this process (the stand-in"
                      " connects ranks of one process only)", fn, rank);
    } else if (e->used) {
        result = fail(ncclInvalidUsage, "%s: rank %d: the unique id was already used by a communicator whose ranks have all joined",
                      fn, rank);
    } else if (q != NULL && q->nranks != nranks) {
        result = fail(ncclInvalidUsage, "%s: rank %d says nranks %d, but the ranks that joined before said %d", fn, rank, nranks,
                      q->nranks);
    } else if (q != NULL && q->present[rank]) {
        result = fail(ncclInvalidUsage, "%s: rank %d of %d joined twice", fn, rank, nranks);
    }
    if (result != ncclSuccess) {
        pthread_mutex_unlock(&lock);
        return result;
    }
    if (q == NULL) q = e->q = new_clique(nranks);
    q->present[rank] = true;
    q->devices[rank] = device;
    q->joined++;
    q->refs++;
    pthread_cond_broadcast(&changed);
    struct timespec until = deadline();
    while (q->joined < nranks && q->missing == NULL && wait_change(&until)) {
    }
    if (q->joined < nranks) {  // the first rank to give up ends the init for all that joined
        if (q->missing == NULL) {
            q->missing = calloc(1, 256);
            absent(q->missing, 256, nranks, q->present, sizeof(bool));
            pthread_cond_broadcast(&changed);
        }
        result = fail(ncclSystemError, "%s: rank %d of %d (device %d): rank(s) %s did not join within LONGBOW_STANDIN_TIMEOUT_MS"
                      " (%lld ms)", fn, rank, nranks, device, q->missing, (long long)si_timeout_ms());
        q->present[rank] = false;
        if (--q->joined == 0) e->q = NULL;  // the id may be joined afresh
        unref_clique(q);
        pthread_mutex_unlock(&lock);
        return result;
    }
    e->used = true;
    for (int i = 0; i < nranks && result == ncclSuccess; i++) {
        for (int j = i + 1; j < nranks && result == ncclSuccess; j++) {
            if (q->devices[i] == q->devices[j]) {
                result = fail(ncclInvalidUsage, "%s: rank %d: ranks %d and %d are both on device %d (\"Multiple Ranks are using the"
                              " same GPU\"; NCCL_MULTI_RANK_GPU_ENABLE is not modelled)", fn, rank, i, j, q->devices[i]);
            }
        }
    }
    if (result == ncclSuccess) *comm = new_comm(q, rank, device);
    unref_clique(q);  // the joining rank's reference; its communicator holds one now
    pthread_mutex_unlock(&lock);
    return result;
}

SI_EXPORT int ncclCommInitAll(ncclComm **comms, int ndev, const int *devlist) {
    if (comms == NULL) return fail(ncclInvalidArgument, "ncclCommInitAll : comms argument is NULL");
    if (ndev < 0) return fail(ncclInvalidArgument, "ncclCommInitAll: Invalid device count requested : %d", ndev);
    int count = 0, error = cuDeviceGetCount(&count);
    if (error) return fail(ncclUnhandledCudaError, "ncclCommInitAll: cudaGetDeviceCount failed (CUDA error %d)", error);
    for (int i = 0; i < ndev; i++) {
        int dev = devlist ? devlist[i] : i;
        if (dev < 0 || dev >= count) return fail(ncclInvalidArgument, "ncclCommInitAll: Invalid device %d (totalnDev=%d)", dev, count);
        for (int j = 0; j < i && devlist; j++) {
            if (devlist[j] == dev) return fail(ncclInvalidUsage, "ncclCommInitAll: device %d is listed twice", dev);
        }
    }
    if (ndev == 0) return ncclSuccess;
    pthread_mutex_lock(&lock);
    clique *q = new_clique(ndev);
    q->joined = ndev;
    for (int i = 0; i < ndev; i++) comms[i] = new_comm(q, i, devlist ? devlist[i] : i);
    pthread_mutex_unlock(&lock);
    return ncclSuccess;
}

// The last rank to reach a split makes every color's communicator (lock held).
static void build_split(clique *q, slot *s) {
    int *members = malloc((size_t)q->nranks * sizeof *members);
    for (int i = 0; i < q->nranks; i++) {
        int color = s->parts[i].color;
        if (color == NCCL_SPLIT_NOCOLOR || s->parts[i].result) continue;
        int m = 0;
        for (int j = i; j < q->nranks; j++) {  // by key, then parent rank: insertion keeps ranks in order
            if (s->parts[j].color != color) continue;
            int at = m++;
            while (at > 0 && s->parts[members[at - 1]].key > s->parts[j].key) {
                members[at] = members[at - 1];
                at--;
            }
            members[at] = j;
        }
        clique *nq = new_clique(m);
        nq->joined = m;
        for (int r = 0; r < m; r++) s->parts[members[r]].result = new_comm(nq, r, q->devices[members[r]]);
    }
    free(members);
    s->built = true;
}

SI_EXPORT int ncclCommSplit(ncclComm *comm, int color, int key, ncclComm **newcomm, void *config) {
    const char *fn = "ncclCommSplit";
    pthread_mutex_lock(&lock);
    int result = check_comm(comm, fn);
    pthread_mutex_unlock(&lock);
    if (result != ncclSuccess) return result;
    if (newcomm == NULL) return fail(ncclInvalidArgument, "%s : newcomm argument is NULL", fn);
    *newcomm = NULL;
    if (config != NULL) {
        return fail(ncclInvalidArgument, "%s: the stand-in models config == NULL only (the parent's configuration)", fn);
    }
    if (color < 0 && color != NCCL_SPLIT_NOCOLOR) {
        return fail(ncclInvalidArgument, "%s: color %d is negative and not NCCL_SPLIT_NOCOLOR", fn, color);
    }
    if (group.depth > 0) return fail(ncclInvalidUsage, "%s inside a group is not modelled by the stand-in", fn);

    pthread_mutex_lock(&lock);
    clique *q = comm->q;
    slot *s = slot_of(q, true, ++comm->splits);
    part *mine = &s->parts[comm->rank];
    *mine = (part){.present = true, .color = color, .key = key};
    if (++s->arrived == q->nranks) build_split(q, s);
    pthread_cond_broadcast(&changed);
    struct timespec until = deadline();
    while (!s->built && !s->abandoned && wait_change(&until)) {
    }
    if (s->built) {
        *newcomm = mine->result;
    } else {
        char who[256];
        absent(who, sizeof who, q->nranks, &s->parts[0].present, sizeof(part));
        s->abandoned = true;
        mine->present = false;
        s->arrived--;
        pthread_cond_broadcast(&changed);
        result = fail(ncclSystemError, "%s: communicator %d rank %d: split #%llu: rank(s) %s never called it within"
                      " LONGBOW_STANDIN_TIMEOUT_MS", fn, q->serial, comm->rank, (unsigned long long)comm->splits, who);
    }
    leave_slot(q, s);
    pthread_mutex_unlock(&lock);
    return result;
}

SI_EXPORT int ncclCommFinalize(ncclComm *comm) {
    pthread_mutex_lock(&lock);
    int result = check_comm(comm, "ncclCommFinalize");
    if (result == ncclSuccess && comm->finalized) {
        result = fail(ncclInvalidArgument, "ncclCommFinalize: the communicator is already finalized");
    }
    if (result == ncclSuccess) {
        comm->finalized = true;
        while (comm->finished < comm->queued) pthread_cond_wait(&changed, &lock);  // the ops end (or time out)
    }
    pthread_mutex_unlock(&lock);
    return result;
}

SI_EXPORT int ncclCommDestroy(ncclComm *comm) {
    if (comm == NULL) return ncclSuccess;
    pthread_mutex_lock(&lock);
    int result = check_comm(comm, "ncclCommDestroy");
    if (result == ncclSuccess) {
        comm->finalized = true;  // destroying finalizes first
        while (comm->finished < comm->queued) pthread_cond_wait(&changed, &lock);
        unlink_comm(comm);
        unref(comm);
    }
    pthread_mutex_unlock(&lock);
    return result;
}

SI_EXPORT int ncclCommAbort(ncclComm *comm) {
    if (comm == NULL) return ncclSuccess;
    pthread_mutex_lock(&lock);
    int result = check_comm(comm, "ncclCommAbort");
    if (result == ncclSuccess) {
        comm->aborted = true;  // its waiting ops wake and end; queued ones end when reached
        unlink_comm(comm);
        pthread_cond_broadcast(&changed);
        unref(comm);
    }
    pthread_mutex_unlock(&lock);
    return result;
}

SI_EXPORT int ncclCommGetAsyncError(ncclComm *comm, int *async) {
    pthread_mutex_lock(&lock);
    int result = check_comm(comm, "ncclCommGetAsyncError");
    if (result == ncclSuccess && async == NULL) result = fail(ncclInvalidArgument, "ncclGetAsyncError : asyncError argument is NULL");
    if (result == ncclSuccess) {
        *async = comm->async;
        if (comm->async != ncclSuccess) snprintf(last_error, sizeof last_error, "%s", comm->async_why);
    }
    pthread_mutex_unlock(&lock);
    return result;
}

// ncclCommCount, ncclCommCuDevice, ncclCommUserRank.
static int comm_value(ncclComm *comm, int *out, const char *fn, int which) {
    pthread_mutex_lock(&lock);
    int result = check_comm(comm, fn);
    if (result == ncclSuccess && out == NULL) result = fail(ncclInvalidArgument, "%s : output argument is NULL", fn);
    if (result == ncclSuccess) *out = which == 0 ? comm->q->nranks : which == 1 ? comm->device : comm->rank;
    pthread_mutex_unlock(&lock);
    return result;
}

SI_EXPORT int ncclCommCount(ncclComm *comm, int *count) {
    return comm_value(comm, count, "ncclCommCount", 0);
}

SI_EXPORT int ncclCommCuDevice(ncclComm *comm, int *device) {
    return comm_value(comm, device, "ncclCommCuDevice", 1);
}

SI_EXPORT int ncclCommUserRank(ncclComm *comm, int *rank) {
    return comm_value(comm, rank, "ncclCommUserRank", 2);
}

// ---- API: collectives, point to point, groups --------------------------------------------

SI_EXPORT int ncclAllReduce(const void *sendbuff, void *recvbuff, size_t count, int datatype, int op, ncclComm *comm, void *stream) {
    return submit("ncclAllReduce", (call){.kind = ALL_REDUCE, .comm = comm, .send = (uintptr_t)sendbuff, .recv = (uintptr_t)recvbuff,
                                          .count = count, .dtype = datatype, .op = op}, stream);
}

SI_EXPORT int ncclAllGather(const void *sendbuff, void *recvbuff, size_t sendcount, int datatype, ncclComm *comm, void *stream) {
    return submit("ncclAllGather", (call){.kind = ALL_GATHER, .comm = comm, .send = (uintptr_t)sendbuff, .recv = (uintptr_t)recvbuff,
                                          .count = sendcount, .dtype = datatype}, stream);
}

SI_EXPORT int ncclReduceScatter(const void *sendbuff, void *recvbuff, size_t recvcount, int datatype, int op, ncclComm *comm,
                                void *stream) {
    return submit("ncclReduceScatter", (call){.kind = REDUCE_SCATTER, .comm = comm, .send = (uintptr_t)sendbuff,
                                              .recv = (uintptr_t)recvbuff, .count = recvcount, .dtype = datatype, .op = op}, stream);
}

SI_EXPORT int ncclSend(const void *sendbuff, size_t count, int datatype, int peer, ncclComm *comm, void *stream) {
    return submit("ncclSend", (call){.kind = SEND, .comm = comm, .send = (uintptr_t)sendbuff, .count = count, .dtype = datatype,
                                     .peer = peer}, stream);
}

SI_EXPORT int ncclRecv(void *recvbuff, size_t count, int datatype, int peer, ncclComm *comm, void *stream) {
    return submit("ncclRecv", (call){.kind = RECV, .comm = comm, .recv = (uintptr_t)recvbuff, .count = count, .dtype = datatype,
                                     .peer = peer}, stream);
}

SI_EXPORT int ncclGroupStart(void) {
    group.depth++;
    return ncclSuccess;
}

SI_EXPORT int ncclGroupEnd(void) {
    if (group.depth == 0) return fail(ncclInvalidUsage, "ncclGroupEnd: not in a group call.");
    return --group.depth > 0 ? ncclSuccess : flush(true);
}
