/**
 * Tensors: typed, row-major views ({@link dev.longbow.tensor.Tensor}) over memory that a
 * {@link dev.longbow.tensor.Slab} or a backend {@link dev.longbow.tensor.Allocation} owns. A slab
 * declares the tensors a piece of work needs and allocates them at once, so its size is the
 * work's peak buffer memory. Attention tensors are sequence-major: q {@code [S, Hq, D]}, k and v
 * {@code [S, Hkv, D]}, the log-sum-exp {@code [S, Hq]} in fp32.
 */
package dev.longbow.tensor;
