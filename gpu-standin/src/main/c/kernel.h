// kernel.h: the CPU implementations of Longbow's CUDA kernels, as the stand-in runs them.
//
// Each implementation is written from its .cu source (kernels-ptx/src/main/cuda) and
// FLASH_ABI.md, never from the Java launch code: the point is a second, independent reading of
// the launch ABI. It decodes its parameters by position from the packed parameter buffer
// (the driver's copy of kernelParams, laid out as the PTX .entry declares them), checks the
// launch geometry the .cu relies on, and computes exactly what the launched grid computes on a
// GPU: blocks that the grid does not cover leave their outputs unwritten.
//
// Memory is reached only through si_kernel_input() and si_kernel_output(), once per tensor and
// launch with the full range the kernel will touch, so a pointer outside its allocation, a
// tensor that is too short, or an address misaligned for the kernel's loads is a fault (the
// launch's CUresult, sticky in the context), as on the GPU. Input or output is read from the
// .cu (its const pointers are inputs; a tensor it reads and writes is an output): the driver's
// race detector compares each range with other streams' accesses, and a read misdeclared as a
// write (or the reverse) makes it report races that are not there (or miss real ones).
#pragma once

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "standin.h"

typedef struct {
    uint32_t x, y, z;
} si_dim3;

typedef struct si_launch {
    const char *kernel;              // entry name, e.g. "longbow_convert_f32_bf16"
    si_dim3 grid, block;
    uint32_t dynamic_shared;         // bytes of dynamic shared memory of the launch
    const uint8_t *params;           // packed parameter values
    const uint32_t *param_offsets;   // byte offset of each parameter in params
    int param_count;
    // The memory check behind si_kernel_input and si_kernel_output (the stand-in's si_memory, or
    // a test's own).
    void *(*memory)(struct si_launch *launch, uint64_t address, uint64_t bytes, uint64_t align, si_access access);
    int error;                       // CUresult of the first fault, 0 while none
    char message[512];               // what the fault was, for the log
} si_launch;

// A CPU implementation: returns launch->error (0 on success). Use the helpers below.
typedef int (*si_kernel_fn)(si_launch *launch);

// One entry of a kernel table. `params` has one character per parameter, in order, as the .cu
// declares them: 'p' pointer (8 bytes), 'i' int / int32_t (4), 'l' int64_t / long long (8),
// 'f' float (4). The stand-in compares it with the PTX .entry's parameter list when a module
// is loaded: a .cu that changed without its CPU implementation fails loudly.
typedef struct {
    const char *name;
    const char *params;
    si_kernel_fn run;
} si_kernel;

// The tables, one per .cu file (kernels/<file>.c), each ending with a {NULL, NULL, NULL} entry.
extern const si_kernel si_kernels_elementwise[];
extern const si_kernel si_kernels_layout[];
extern const si_kernel si_kernels_merge[];
extern const si_kernel si_kernels_rmsnorm[];
extern const si_kernel si_kernels_rope[];
extern const si_kernel si_kernels_swiglu[];
extern const si_kernel si_kernels_embedding[];
extern const si_kernel si_kernels_cross_entropy[];
extern const si_kernel si_kernels_adamw[];
extern const si_kernel si_kernels_gemm[];
extern const si_kernel si_kernels_flash_fwd[];
extern const si_kernel si_kernels_flash_bwd[];
// Test kernels (runtime/src/test/resources/dev/longbow/cuda/saxpy.cu).
extern const si_kernel si_kernels_test[];

// ---- parameters --------------------------------------------------------------------------

static inline uint64_t si_param_ptr(const si_launch *l, int i) {
    uint64_t v;
    memcpy(&v, l->params + l->param_offsets[i], 8);
    return v;
}
static inline int32_t si_param_i32(const si_launch *l, int i) {
    int32_t v;
    memcpy(&v, l->params + l->param_offsets[i], 4);
    return v;
}
static inline int64_t si_param_i64(const si_launch *l, int i) {
    int64_t v;
    memcpy(&v, l->params + l->param_offsets[i], 8);
    return v;
}
static inline float si_param_f32(const si_launch *l, int i) {
    float v;
    memcpy(&v, l->params + l->param_offsets[i], 4);
    return v;
}

// ---- faults ------------------------------------------------------------------------------

// Records a fault (the first one wins) and returns launch->error, so an implementation can
// `return si_kernel_fail(l, SI_ERROR_LAUNCH_FAILED, "...", ...)`.
int si_kernel_fail(si_launch *l, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

// The host-visible pointer for [address, address + bytes), which must be in one allocation and
// aligned to `align`, and which the kernel reads or writes as `access` says; NULL after a
// fault. A zero-byte range is not checked (returns a non-NULL dummy pointer that must not be
// dereferenced): kernels with n == 0 touch nothing.
static inline void *si_kernel_range(si_launch *l, uint64_t address, uint64_t bytes, uint64_t align, si_access access) {
    if (l->error) return NULL;
    if (bytes == 0) return (void *)l;
    return l->memory(l, address, bytes, align, access);
}

// A range the kernel only reads (a const pointer of the .cu).
static inline const void *si_kernel_input(si_launch *l, uint64_t address, uint64_t bytes, uint64_t align) {
    return si_kernel_range(l, address, bytes, align, SI_READ);
}

// A range the kernel writes, whether or not it also reads it.
static inline void *si_kernel_output(si_launch *l, uint64_t address, uint64_t bytes, uint64_t align) {
    return si_kernel_range(l, address, bytes, align, SI_WRITE);
}

// A range the kernel may read and write: an output. For readings written before inputs and
// outputs were told apart; new ones say which.
static inline void *si_kernel_memory(si_launch *l, uint64_t address, uint64_t bytes, uint64_t align) {
    return si_kernel_output(l, address, bytes, align);
}

// Requires the launch's block to be exactly (x, y, z): what the .cu's indexing assumes.
int si_require_block(si_launch *l, uint32_t x, uint32_t y, uint32_t z);
// Requires at least `bytes` of dynamic shared memory (the .cu indexes that much).
int si_require_shared(si_launch *l, uint32_t bytes);
// Requires a 1-D grid and a block of `block_dims` (1 or 2) dimensions, none of them empty: what
// a .cu that indexes only blockIdx.x and threadIdx.x (and threadIdx.y) assumes. Threads in a
// further dimension would repeat the work, and an in-place update would be applied twice.
int si_require_dims(si_launch *l, int block_dims);
// Requires blockDim.x to be a whole number of warps, at most 1024: what block_sum / block_max
// (common.cuh) and one-warp-per-row kernels assume.
int si_require_warps(si_launch *l);

// si_kernel_input / si_kernel_output for `count` elements of `size` bytes, aligned to `size`; a
// count <= 0 is an empty range (the .cu's `i < n` loops touch nothing). An extent past 2^63
// bytes is a fault.
const void *si_kernel_input_array(si_launch *l, uint64_t address, int64_t count, uint64_t size);
void *si_kernel_output_array(si_launch *l, uint64_t address, int64_t count, uint64_t size);

// a * b as an element count: 0 when either is <= 0, INT64_MAX when the product overflows (so
// the array helpers fault instead of checking a wrapped-around range).
static inline int64_t si_count(int64_t a, int64_t b) {
    int64_t r;
    if (a <= 0 || b <= 0) return 0;
    return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}

// ---- storage types -----------------------------------------------------------------------
// bf16 and f16 are stored as uint16_t; arithmetic is fp32, stores round to nearest even, as
// __float2bfloat16_rn and __float2half_rn do.

static inline float si_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline uint16_t si_f32_to_bf16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x0040u);  // quiet NaN
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

static inline float si_f16_to_f32(uint16_t h) {
    _Float16 x;
    memcpy(&x, &h, 2);
    return (float)x;
}

static inline uint16_t si_f32_to_f16(float f) {
    _Float16 x = (_Float16)f;  // round to nearest even (x86-64 SSE2 / F16C semantics)
    uint16_t h;
    memcpy(&h, &x, 2);
    return h;
}

// One X(name, si_float_type) per storage type, and one X(name, type, name, type) per pair, in
// the order of common.cuh's LONGBOW_FOR_FLOAT_TYPES / LONGBOW_FOR_FLOAT_TYPE_PAIRS.
#define SI_FOR_FLOAT_TYPES(X) X(f32, SI_F32) X(bf16, SI_BF16) X(f16, SI_F16)
#define SI_FOR_FLOAT_TYPE_PAIRS(X)                                                        \
    X(f32, SI_F32, f32, SI_F32) X(f32, SI_F32, bf16, SI_BF16) X(f32, SI_F32, f16, SI_F16)     \
    X(bf16, SI_BF16, f32, SI_F32) X(bf16, SI_BF16, bf16, SI_BF16) X(bf16, SI_BF16, f16, SI_F16) \
    X(f16, SI_F16, f32, SI_F32) X(f16, SI_F16, bf16, SI_BF16) X(f16, SI_F16, f16, SI_F16)

// Element access by storage type: 0 = f32, 1 = bf16, 2 = f16 (the order of the Java dtype
// suffixes f32, bf16, f16). Lets one implementation serve every instantiation.
typedef enum { SI_F32 = 0, SI_BF16 = 1, SI_F16 = 2 } si_float_type;

static inline uint64_t si_float_size(si_float_type t) { return t == SI_F32 ? 4 : 2; }

static inline float si_load(si_float_type t, const void *base, int64_t i) {
    switch (t) {
        case SI_F32: return ((const float *)base)[i];
        case SI_BF16: return si_bf16_to_f32(((const uint16_t *)base)[i]);
        default: return si_f16_to_f32(((const uint16_t *)base)[i]);
    }
}

static inline void si_store(si_float_type t, void *base, int64_t i, float v) {
    switch (t) {
        case SI_F32: ((float *)base)[i] = v; break;
        case SI_BF16: ((uint16_t *)base)[i] = si_f32_to_bf16(v); break;
        default: ((uint16_t *)base)[i] = si_f32_to_f16(v); break;
    }
}
