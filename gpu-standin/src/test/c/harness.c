// harness.c: see harness.h.
#include "harness.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "standin.h"

typedef struct {
    uint8_t *base;  // malloc'd block
    uint64_t start, bytes;
} buffer;

static buffer buffers[256];
static int buffer_count;
static int failures, checks;

// The ranges the running launch declared, so that a range declared as input can be checked to
// be unchanged afterwards (a kernel reading that writes an input would hide races from the
// driver's detector).
typedef struct {
    uint64_t address, bytes, hash;
    si_access access;
} declared;
static declared ranges[64];
static int range_count;

static uint64_t hash_of(uint64_t address, uint64_t bytes) {
    uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
    for (uint64_t i = 0; i < bytes; i++) h = (h ^ ((const uint8_t *)(uintptr_t)address)[i]) * 0x100000001b3ull;
    return h;
}

void *harness_alloc(uint64_t bytes, uint64_t misalign) {
    if (buffer_count == 256) {
        fprintf(stderr, "harness: too many buffers\n");
        exit(2);
    }
    uint8_t *base = aligned_alloc(16, (bytes + misalign + 15) / 16 * 16 + 16);
    memset(base, SI_POISON, bytes + misalign);
    buffers[buffer_count++] = (buffer){base, (uint64_t)(uintptr_t)(base + misalign), bytes};
    return base + misalign;
}

void harness_free_all(void) {
    for (int i = 0; i < buffer_count; i++) free(buffers[i].base);
    buffer_count = 0;
}

static void *memory(si_launch *l, uint64_t address, uint64_t bytes, uint64_t align, si_access access) {
    for (int i = 0; i < buffer_count; i++) {
        buffer *b = &buffers[i];
        if (address >= b->start && address < b->start + b->bytes) {
            if (address + bytes > b->start + b->bytes) {
                si_kernel_fail(l, SI_ERROR_ILLEGAL_ADDRESS, "%s: %llu bytes at 0x%llx run past the end of a %llu-byte buffer",
                               l->kernel, (unsigned long long)bytes, (unsigned long long)address, (unsigned long long)b->bytes);
                return NULL;
            }
            if (address % align != 0) {
                si_kernel_fail(l, SI_ERROR_MISALIGNED_ADDRESS, "%s: 0x%llx is not aligned to %llu bytes", l->kernel,
                               (unsigned long long)address, (unsigned long long)align);
                return NULL;
            }
            if (range_count < 64) {
                ranges[range_count++] = (declared){address, bytes, access == SI_READ ? hash_of(address, bytes) : 0, access};
            }
            return (void *)(uintptr_t)address;
        }
    }
    si_kernel_fail(l, SI_ERROR_ILLEGAL_ADDRESS, "%s: 0x%llx is not in any buffer", l->kernel, (unsigned long long)address);
    return NULL;
}

int harness_launch(const si_kernel *table, const char *name, si_dim3 grid, si_dim3 block, uint32_t shared, ...) {
    const si_kernel *k = table;
    while (k->name && strcmp(k->name, name) != 0) k++;
    if (!k->name) {
        fprintf(stderr, "harness: no kernel %s in the table\n", name);
        exit(2);
    }
    uint8_t params[256];
    uint32_t offsets[32];
    uint32_t end = 0;
    int count = (int)strlen(k->params);
    va_list args;
    va_start(args, shared);
    for (int i = 0; i < count; i++) {
        uint32_t size = (k->params[i] == 'i' || k->params[i] == 'f') ? 4 : 8;
        end = (end + size - 1) / size * size;
        offsets[i] = end;
        switch (k->params[i]) {
            case 'p': { uint64_t v = (uint64_t)(uintptr_t)va_arg(args, void *); memcpy(params + end, &v, 8); break; }
            case 'i': { int32_t v = va_arg(args, int); memcpy(params + end, &v, 4); break; }
            case 'l': { int64_t v = va_arg(args, long long); memcpy(params + end, &v, 8); break; }
            case 'f': { float v = (float)va_arg(args, double); memcpy(params + end, &v, 4); break; }
            default: fprintf(stderr, "harness: bad signature %s\n", k->params); exit(2);
        }
        end += size;
    }
    va_end(args);
    si_launch l = {.kernel = name, .grid = grid, .block = block, .dynamic_shared = shared, .params = params,
                   .param_offsets = offsets, .param_count = count, .memory = memory};
    range_count = 0;
    int result = k->run(&l);
    if (result != 0) fprintf(stderr, "harness: %s -> %d: %s\n", name, result, l.message);
    for (int i = 0; i < range_count; i++) {  // inputs that no output overlaps must be unchanged
        declared *in = &ranges[i];
        bool overlapped = false;
        for (int j = 0; j < range_count; j++) {
            declared *out = &ranges[j];
            overlapped |= out->access == SI_WRITE && out->address < in->address + in->bytes && in->address < out->address + out->bytes;
        }
        harness_check(in->access != SI_READ || overlapped || hash_of(in->address, in->bytes) == in->hash,
                      "%s wrote %llu bytes at 0x%llx, which it declares as an input", name, (unsigned long long)in->bytes,
                      (unsigned long long)in->address);
    }
    return result;
}

void harness_check(int ok, const char *fmt, ...) {
    checks++;
    if (!ok) {
        failures++;
        va_list args;
        va_start(args, fmt);
        fprintf(stderr, "FAILED: ");
        vfprintf(stderr, fmt, args);
        fprintf(stderr, "\n");
        va_end(args);
    }
}

int harness_exit(void) {
    printf("%d checks, %d failed\n", checks, failures);
    harness_free_all();
    return failures ? 1 : 0;
}

double harness_max_rel_error(const float *a, const double *b, int64_t n) {
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double scale = fabs(b[i]) > 1 ? fabs(b[i]) : 1;
        double e = fabs((double)a[i] - b[i]) / scale;
        if (!(e <= worst)) worst = e;  // NaN counts as the worst
    }
    return worst;
}
