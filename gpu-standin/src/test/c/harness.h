// harness.h: running the kernels' CPU implementations without the driver stand-in, on
// malloc'd "device" buffers whose bounds and alignment the memory callback checks.
#pragma once

#include <stdint.h>

#include "kernel.h"

// A buffer of `bytes` (16-byte aligned, then offset by `misalign` bytes), filled with 0xFF.
void *harness_alloc(uint64_t bytes, uint64_t misalign);
void harness_free_all(void);

// Packs parameters as the PTX lays them out (each at its natural alignment), per `signature`
// ('p', 'i', 'l', 'f' as in si_kernel), from the variadic values (pointers as void*, 'i' as
// int, 'l' as long long, 'f' as double), and runs the kernel named `name` from `table` with the
// given geometry. Returns the launch's CUresult; prints the fault message if there is one.
// Counts a failed check when the kernel changed a range it declared as an input (and no output
// of the launch overlaps it).
int harness_launch(const si_kernel *table, const char *name, si_dim3 grid, si_dim3 block, uint32_t shared, ...);

// Counts a failed check and prints it; harness_exit() returns nonzero if any failed.
void harness_check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int harness_exit(void);

// Largest |a - b| / max(1, |b|) over n values (a: float results, b: float64 reference).
double harness_max_rel_error(const float *a, const double *b, int64_t n);
