// driver.c: initialisation, devices, primary contexts and error strings of the CUDA driver
// stand-in.
//
// Devices are described by LONGBOW_STANDIN_DEVICES, a comma-separated list of compute
// capabilities ("9.0,9.0,8.6"; default four 9.0 devices), each with LONGBOW_STANDIN_DEVICE_MIB of
// memory (default 4096). Their names say what they are: "Longbow CUDA stand-in (CPU, sm_90)".
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "driver.h"

si_driver si_state;
pthread_mutex_t si_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread si_context *current_context;
static struct timespec started;

// ---- logging, configuration, time --------------------------------------------------------

void si_log(const char *fmt, ...) {
    char line[1024];
    va_list args;
    va_start(args, fmt);
    vsnprintf(line, sizeof line, fmt, args);
    va_end(args);
    fprintf(stderr, "longbow stand-in: %s\n", line);
}

static int64_t env_int(const char *name, int64_t fallback) {
    const char *value = getenv(name);
    if (value == NULL || *value == '\0') return fallback;
    char *end;
    long long parsed = strtoll(value, &end, 10);
    if (*end != '\0' || parsed < 0) {
        si_log("%s=%s is not a non-negative integer; using %lld", name, value, (long long)fallback);
        return fallback;
    }
    return parsed;
}

int64_t si_timeout_ms(void) {
    return env_int("LONGBOW_STANDIN_TIMEOUT_MS", 60000);
}

double si_now_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - started.tv_sec) * 1e3 + (now.tv_nsec - started.tv_nsec) / 1e6;
}

uint32_t si_random(uint32_t bound) {
    static _Atomic uint64_t state = 0x9e3779b97f4a7c15ull;
    uint64_t x = atomic_fetch_add(&state, 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    x ^= x >> 31;
    return bound ? (uint32_t)(x % bound) : 0;
}

// ---- the handle registry: an open-addressing set of live pointers --------------------------

static void **handles;
static size_t handle_capacity, handle_count;
#define TOMBSTONE ((void *)1)

static size_t slot_of(void *handle) {
    uint64_t h = (uint64_t)(uintptr_t)handle * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 17) & (handle_capacity - 1);
}

static void insert(void *handle) {
    size_t i = slot_of(handle);
    while (handles[i] != NULL && handles[i] != TOMBSTONE) i = (i + 1) & (handle_capacity - 1);
    handles[i] = handle;
}

void si_register(void *handle) {
    pthread_mutex_lock(&si_lock);
    if (2 * (handle_count + 1) > handle_capacity) {
        void **old = handles;
        size_t old_capacity = handle_capacity;
        handle_capacity = handle_capacity ? 2 * handle_capacity : 1024;
        handles = calloc(handle_capacity, sizeof *handles);
        for (size_t i = 0; i < old_capacity; i++) {
            if (old[i] != NULL && old[i] != TOMBSTONE) insert(old[i]);
        }
        free(old);
    }
    insert(handle);
    handle_count++;
    pthread_mutex_unlock(&si_lock);
}

static ssize_t find(void *handle) {
    if (handle_capacity == 0 || handle == NULL) return -1;
    for (size_t i = slot_of(handle); handles[i] != NULL; i = (i + 1) & (handle_capacity - 1)) {
        if (handles[i] == handle) return (ssize_t)i;
    }
    return -1;
}

void si_unregister(void *handle) {
    pthread_mutex_lock(&si_lock);
    ssize_t i = find(handle);
    if (i >= 0) {
        handles[i] = TOMBSTONE;  // the count stays: tombstones fill the table like entries
    }
    pthread_mutex_unlock(&si_lock);
}

bool si_registered(void *handle) {
    pthread_mutex_lock(&si_lock);
    bool live = find(handle) >= 0;
    pthread_mutex_unlock(&si_lock);
    return live;
}

// ---- initialisation and devices ---------------------------------------------------------

typedef struct {
    int major, minor, optin, per_sm;
} capability;

// Shared memory limits per compute capability (CUDA C Programming Guide, "Compute Capabilities").
static const capability capabilities[] = {
    {8, 0, 166912, 167936}, {8, 6, 101376, 102400}, {8, 7, 166912, 167936}, {8, 9, 101376, 102400},
    {9, 0, 232448, 233472}, {10, 0, 232448, 233472}, {12, 0, 101376, 102400},
};

static int add_device(int major, int minor, uint64_t bytes) {
    for (size_t i = 0; i < sizeof capabilities / sizeof *capabilities; i++) {
        const capability *c = &capabilities[i];
        if (c->major == major && c->minor == minor) {
            si_device *d = &si_state.devices[si_state.device_count];
            d->ordinal = si_state.device_count++;
            snprintf(d->name, sizeof d->name, "Longbow CUDA stand-in (CPU, sm_%d%d)", major, minor);
            d->major = major;
            d->minor = minor;
            d->sms = 8;
            d->shared_optin = c->optin;
            d->shared_per_sm = c->per_sm;
            d->heap.total = bytes;
            d->context.device = d;
            return 0;
        }
    }
    si_log("LONGBOW_STANDIN_DEVICES: compute capability %d.%d is not one the stand-in models", major, minor);
    return SI_ERROR_NO_DEVICE;
}

static int configure(void) {
    uint64_t bytes = (uint64_t)env_int("LONGBOW_STANDIN_DEVICE_MIB", 4096) << 20;
    const char *list = getenv("LONGBOW_STANDIN_DEVICES");
    if (list == NULL || *list == '\0') list = "9.0,9.0,9.0,9.0";
    char *copy = strdup(list), *save = NULL;
    int result = SI_SUCCESS;
    for (char *item = strtok_r(copy, ",", &save); item && result == SI_SUCCESS; item = strtok_r(NULL, ",", &save)) {
        int major, minor;
        if (sscanf(item, "%d.%d", &major, &minor) != 2) {
            si_log("LONGBOW_STANDIN_DEVICES=%s: '%s' is not a compute capability like 9.0", list, item);
            result = SI_ERROR_NO_DEVICE;
        } else if (si_state.device_count == SI_MAX_DEVICES) {
            si_log("LONGBOW_STANDIN_DEVICES=%s: at most %d devices", list, SI_MAX_DEVICES);
            result = SI_ERROR_NO_DEVICE;
        } else {
            result = add_device(major, minor, bytes);
        }
    }
    free(copy);
    return result;
}

static int init_result = SI_ERROR_NOT_INITIALIZED;

SI_EXPORT int cuInit(unsigned int flags) {
    pthread_mutex_lock(&si_lock);
    if (!si_state.initialized) {
        si_state.initialized = true;
        clock_gettime(CLOCK_MONOTONIC, &started);
        init_result = flags != 0 ? SI_ERROR_INVALID_VALUE : configure();
        for (int i = 0; init_result == SI_SUCCESS && i < si_state.device_count; i++) {
            si_heap_init(&si_state.devices[i]);
        }
    }
    pthread_mutex_unlock(&si_lock);
    return init_result;
}

// Every other entry point starts here: the driver answers CUDA_ERROR_NOT_INITIALIZED before cuInit.
static int initialized(void) {
    pthread_mutex_lock(&si_lock);
    int result = init_result;
    pthread_mutex_unlock(&si_lock);
    return result;
}

static si_device *device_of(int ordinal, int *error) {
    *error = initialized();
    if (*error != SI_SUCCESS) return NULL;
    if (ordinal < 0 || ordinal >= si_state.device_count) {
        *error = SI_ERROR_INVALID_DEVICE;
        return NULL;
    }
    return &si_state.devices[ordinal];
}

SI_EXPORT int cuDriverGetVersion(int *version) {
    if (version == NULL) return SI_ERROR_INVALID_VALUE;
    *version = 13000;  // works before cuInit, as the driver's does
    return SI_SUCCESS;
}

SI_EXPORT int cuDeviceGetCount(int *count) {
    int error = initialized();
    if (error != SI_SUCCESS) return error;
    if (count == NULL) return SI_ERROR_INVALID_VALUE;
    *count = si_state.device_count;
    return SI_SUCCESS;
}

SI_EXPORT int cuDeviceGet(int *device, int ordinal) {
    int error;
    if (device_of(ordinal, &error) == NULL) return error;
    if (device == NULL) return SI_ERROR_INVALID_VALUE;
    *device = ordinal;
    return SI_SUCCESS;
}

SI_EXPORT int cuDeviceGetName(char *name, int length, int device) {
    int error;
    si_device *d = device_of(device, &error);
    if (d == NULL) return error;
    if (name == NULL || length <= 0) return SI_ERROR_INVALID_VALUE;
    snprintf(name, (size_t)length, "%s", d->name);
    return SI_SUCCESS;
}

SI_EXPORT int cuDeviceGetUuid_v2(unsigned char *uuid, int device) {
    int error;
    si_device *d = device_of(device, &error);
    if (d == NULL) return error;
    if (uuid == NULL) return SI_ERROR_INVALID_VALUE;
    static const char tag[] = "longbow-standin";  // 15 bytes, then the ordinal
    memcpy(uuid, tag, 15);
    uuid[15] = (unsigned char)d->ordinal;
    return SI_SUCCESS;
}

SI_EXPORT int cuDeviceTotalMem_v2(size_t *bytes, int device) {
    int error;
    si_device *d = device_of(device, &error);
    if (d == NULL) return error;
    if (bytes == NULL) return SI_ERROR_INVALID_VALUE;
    *bytes = d->heap.total;
    return SI_SUCCESS;
}

SI_EXPORT int cuDeviceGetAttribute(int *value, int attribute, int device) {
    int error;
    si_device *d = device_of(device, &error);
    if (d == NULL) return error;
    if (value == NULL) return SI_ERROR_INVALID_VALUE;
    switch (attribute) {
        case 1: *value = 1024; break;                    // MAX_THREADS_PER_BLOCK
        case 8: *value = 48 * 1024; break;               // MAX_SHARED_MEMORY_PER_BLOCK
        case 10: *value = 32; break;                     // WARP_SIZE
        case 12: *value = 65536; break;                  // MAX_REGISTERS_PER_BLOCK
        case 16: *value = d->sms; break;                 // MULTIPROCESSOR_COUNT
        case 33: *value = 0xe0 + d->ordinal; break;      // PCI_BUS_ID
        case 34: *value = 0; break;                      // PCI_DEVICE_ID
        case 50: *value = 0; break;                      // PCI_DOMAIN_ID
        case 37: *value = 5120; break;                   // GLOBAL_MEMORY_BUS_WIDTH
        case 38: *value = 50 << 20; break;               // L2_CACHE_SIZE
        case 39: *value = 2048; break;                   // MAX_THREADS_PER_MULTIPROCESSOR
        case 41: *value = 1; break;                      // UNIFIED_ADDRESSING
        case 75: *value = d->major; break;               // COMPUTE_CAPABILITY_MAJOR
        case 76: *value = d->minor; break;               // COMPUTE_CAPABILITY_MINOR
        case 81: *value = d->shared_per_sm; break;       // MAX_SHARED_MEMORY_PER_MULTIPROCESSOR
        case 97: *value = d->shared_optin; break;        // MAX_SHARED_MEMORY_PER_BLOCK_OPTIN
        default:
            si_log("cuDeviceGetAttribute: attribute %d is not modelled", attribute);
            return SI_ERROR_INVALID_VALUE;
    }
    return SI_SUCCESS;
}

// ---- primary contexts --------------------------------------------------------------------

// Retains and releases are serialised, so a context is whole (its legacy stream made, its
// sticky error cleared) before a second retainer sees it.
static pthread_mutex_t lifecycle = PTHREAD_MUTEX_INITIALIZER;

SI_EXPORT int cuDevicePrimaryCtxRetain(si_context **context, int device) {
    int error;
    si_device *d = device_of(device, &error);
    if (d == NULL) return error;
    if (context == NULL) return SI_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&lifecycle);
    if (d->context.retains == 0) {
        atomic_store(&d->context.error, SI_SUCCESS);
        d->context.streams = 0;
        d->context.legacy = si_stream_create(&d->context, 0, true);
    }
    pthread_mutex_lock(&si_lock);
    d->context.retains++;
    pthread_mutex_unlock(&si_lock);
    pthread_mutex_unlock(&lifecycle);
    *context = &d->context;
    return SI_SUCCESS;
}

// The last release destroys the context: its work finishes, its memory, streams, events and
// modules are gone, and its sticky error with it (the only way to recover from one).
SI_EXPORT int cuDevicePrimaryCtxRelease_v2(int device) {
    int error;
    si_device *d = device_of(device, &error);
    if (d == NULL) return error;
    pthread_mutex_lock(&lifecycle);
    if (d->context.retains == 0) {
        pthread_mutex_unlock(&lifecycle);
        return SI_ERROR_INVALID_CONTEXT;
    }
    if (d->context.retains == 1) {
        si_device_drain(d);
        si_context_streams_end(&d->context);
        si_heap_reset(d);
    }
    pthread_mutex_lock(&si_lock);
    if (--d->context.retains == 0) d->context.generation++;
    pthread_mutex_unlock(&si_lock);
    pthread_mutex_unlock(&lifecycle);
    return SI_SUCCESS;
}

static bool context_live(si_context *ctx) {
    pthread_mutex_lock(&si_lock);
    bool live = ctx != NULL && ctx->retains > 0;
    pthread_mutex_unlock(&si_lock);
    return live;
}

SI_EXPORT int cuCtxSetCurrent(si_context *context) {
    int error = initialized();
    if (error != SI_SUCCESS) return error;
    if (context != NULL) {
        bool known = false;
        for (int i = 0; i < si_state.device_count; i++) known |= context == &si_state.devices[i].context;
        if (!known || !context_live(context)) return SI_ERROR_INVALID_CONTEXT;
    }
    current_context = context;
    return SI_SUCCESS;
}

SI_EXPORT int cuCtxGetCurrent(si_context **context) {
    int error = initialized();
    if (error != SI_SUCCESS) return error;
    if (context == NULL) return SI_ERROR_INVALID_VALUE;
    *context = current_context;
    return SI_SUCCESS;
}

si_context *si_current(void) {
    return context_live(current_context) ? current_context : NULL;
}

si_context *si_require_current(int *error, bool sticky_fails) {
    *error = initialized();
    if (*error != SI_SUCCESS) return NULL;
    si_context *ctx = si_current();
    if (ctx == NULL) {
        *error = SI_ERROR_INVALID_CONTEXT;
        return NULL;
    }
    if (sticky_fails && (*error = atomic_load(&ctx->error)) != SI_SUCCESS) return NULL;
    return ctx;
}

int si_context_device(si_context *ctx) {
    return ctx->device->ordinal;
}

int si_context_error(si_context *ctx) {
    return atomic_load(&ctx->error);
}

void si_context_fail(si_context *ctx, int error, const char *why) {
    int none = SI_SUCCESS;
    if (atomic_compare_exchange_strong(&ctx->error, &none, error)) {
        si_log("device %d: %s (error %d is sticky: every later call in this context fails until it is released)",
               ctx->device->ordinal, why, error);
    }
}

SI_EXPORT int cuCtxSynchronize(void) {
    int error;
    si_context *ctx = si_require_current(&error, false);
    if (ctx == NULL) return error;
    si_device_drain(ctx->device);
    return si_context_error(ctx);
}

// ---- error strings -----------------------------------------------------------------------

typedef struct {
    int code;
    const char *name, *text;
} error_text;

static const error_text errors[] = {
    {0, "CUDA_SUCCESS", "no error"},
    {1, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {3, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {4, "CUDA_ERROR_DEINITIALIZED", "driver shutting down"},
    {100, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {101, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {200, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"},
    {201, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {209, "CUDA_ERROR_NO_BINARY_FOR_GPU", "no kernel image is available for execution on the device"},
    {218, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
    {222, "CUDA_ERROR_UNSUPPORTED_PTX_VERSION", "the provided PTX was compiled with an unsupported toolchain."},
    {400, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {500, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {600, "CUDA_ERROR_NOT_READY", "device not ready"},
    {700, "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered"},
    {701, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many resources requested for launch"},
    {702, "CUDA_ERROR_LAUNCH_TIMEOUT", "the launch timed out and was terminated"},
    {716, "CUDA_ERROR_MISALIGNED_ADDRESS", "misaligned address"},
    {719, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"},
    {801, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported"},
    {999, "CUDA_ERROR_UNKNOWN", "unknown error"},
};

static const error_text *error_of(int code) {
    for (size_t i = 0; i < sizeof errors / sizeof *errors; i++) {
        if (errors[i].code == code) return &errors[i];
    }
    return NULL;
}

SI_EXPORT int cuGetErrorName(int code, const char **name) {
    const error_text *e = error_of(code);
    if (name == NULL) return SI_ERROR_INVALID_VALUE;
    *name = e ? e->name : NULL;
    return e ? SI_SUCCESS : SI_ERROR_INVALID_VALUE;
}

SI_EXPORT int cuGetErrorString(int code, const char **text) {
    const error_text *e = error_of(code);
    if (text == NULL) return SI_ERROR_INVALID_VALUE;
    *text = e ? e->text : NULL;
    return e ? SI_SUCCESS : SI_ERROR_INVALID_VALUE;
}
