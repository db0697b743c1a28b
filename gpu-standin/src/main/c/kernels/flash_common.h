// flash_common.h: what the CPU readings of flash_fwd.cu and flash_bwd.cu share, read from
// flash_common.cuh.
#pragma once

#include <stdint.h>

#include "kernel.h"

// A flash tensor: count elements of `size` bytes, 16-byte aligned (FLASH_ABI.md), read or
// written; an extent past 2^63 bytes stays past the end of any allocation instead of wrapping.
static inline void *flash_tensor(si_launch *l, int param, int64_t count, uint64_t size, si_access access) {
    uint64_t bytes = (uint64_t)count > INT64_MAX / size ? INT64_MAX : (uint64_t)count * size;
    return si_kernel_range(l, si_param_ptr(l, param), bytes, 16, access);
}

// x rounded to the storage type, as the kernels round an operand before a tensor-core product.
static inline float flash_rounded(si_float_type t, float x) {
    return t == SI_BF16 ? si_bf16_to_f32(si_f32_to_bf16(x)) : si_f16_to_f32(si_f32_to_f16(x));
}

// flash_common.cuh's clamp_diff: causal offset clamped to [-(sq + 1), sk], same answers.
static inline int flash_clamp_diff(int64_t q_start, int64_t k_start, int sq, int sk) {
    int64_t d = q_start - k_start;
    d = d < -(int64_t)sq - 1 ? -(int64_t)sq - 1 : d;
    return (int)(d > sk ? sk : d);
}

// flash_common.cuh's place_block: heads in groups whose re-read data fits the 32 MiB L2 budget;
// block `bid` of `nblocks` per head gets a head and a rank inside its group (each caller says
// which rank runs first). Returns 0 where the .cu would divide by zero or give a head past nheads.
static inline int flash_place_block(int bid, int nblocks, int nheads, int64_t head_bytes, int *head, int *rank) {
    int64_t fit = (32ll << 20) / (head_bytes > 0 ? head_bytes : 1);
    int g = fit < 1 ? 1 : (fit > nheads ? nheads : (int)fit);
    int per_group = g * nblocks;
    if (per_group <= 0) return 0;
    int group = bid / per_group, r = bid - group * per_group;
    int gsize = g < nheads - group * g ? g : nheads - group * g;
    if (gsize <= 0) return 0;
    *head = group * g + r % gsize;
    *rank = r / gsize;
    return 1;
}
