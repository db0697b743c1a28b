// kernel_support.c: the fault and geometry helpers of kernel.h, shared by the stand-in library
// and the kernels' C tests.
#include <stdarg.h>
#include <stdio.h>

#include "kernel.h"
#include "standin.h"

int si_kernel_fail(si_launch *l, int error, const char *fmt, ...) {
    if (l->error == 0) {
        l->error = error;
        va_list args;
        va_start(args, fmt);
        vsnprintf(l->message, sizeof l->message, fmt, args);
        va_end(args);
    }
    return l->error;
}

int si_require_block(si_launch *l, uint32_t x, uint32_t y, uint32_t z) {
    if (l->block.x != x || l->block.y != y || l->block.z != z) {
        return si_kernel_fail(l, SI_ERROR_LAUNCH_FAILED, "%s: block (%u, %u, %u), but the kernel is written for (%u, %u, %u)",
                              l->kernel, l->block.x, l->block.y, l->block.z, x, y, z);
    }
    return l->error;
}

int si_require_shared(si_launch *l, uint32_t bytes) {
    if (l->dynamic_shared < bytes) {
        return si_kernel_fail(l, SI_ERROR_ILLEGAL_ADDRESS, "%s: indexes %u bytes of dynamic shared memory, the launch gave %u",
                              l->kernel, bytes, l->dynamic_shared);
    }
    return l->error;
}

int si_require_dims(si_launch *l, int block_dims) {
    int block_ok = l->block.x > 0 && l->block.y > 0 && l->block.z == 1 && (block_dims == 2 || l->block.y == 1);
    if (l->grid.x == 0 || l->grid.y != 1 || l->grid.z != 1 || !block_ok) {
        return si_kernel_fail(l, SI_ERROR_LAUNCH_FAILED, "%s: grid (%u, %u, %u), block (%u, %u, %u), but the kernel is written for a 1-D grid and a %d-D block",
                              l->kernel, l->grid.x, l->grid.y, l->grid.z, l->block.x, l->block.y, l->block.z, block_dims);
    }
    return l->error;
}

int si_require_warps(si_launch *l) {
    if (l->block.x % 32 != 0 || l->block.x == 0 || l->block.x > 1024) {
        return si_kernel_fail(l, SI_ERROR_LAUNCH_FAILED, "%s: blockDim.x %u, but the kernel's warp and block reductions need a multiple of 32 up to 1024",
                              l->kernel, l->block.x);
    }
    return l->error;
}

static void *array(si_launch *l, uint64_t address, int64_t count, uint64_t size, si_access access) {
    if (count <= 0) return si_kernel_range(l, address, 0, size, access);
    if ((uint64_t)count > INT64_MAX / size) {
        si_kernel_fail(l, SI_ERROR_ILLEGAL_ADDRESS, "%s: %lld elements of %llu bytes at 0x%llx overflow the address space", l->kernel,
                       (long long)count, (unsigned long long)size, (unsigned long long)address);
        return NULL;
    }
    return si_kernel_range(l, address, (uint64_t)count * size, size, access);
}

const void *si_kernel_input_array(si_launch *l, uint64_t address, int64_t count, uint64_t size) {
    return array(l, address, count, size, SI_READ);
}

void *si_kernel_output_array(si_launch *l, uint64_t address, int64_t count, uint64_t size) {
    return array(l, address, count, size, SI_WRITE);
}
