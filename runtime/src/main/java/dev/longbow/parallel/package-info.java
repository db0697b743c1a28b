/**
 * Sequence-parallel attention: each of P ranks holds {@code S / P} tokens of the sequence and gets
 * the exact attention output for them. A {@link dev.longbow.parallel.Scheme} is one of five records
 * ({@link dev.longbow.parallel.Ulysses}, {@link dev.longbow.parallel.Ring},
 * {@link dev.longbow.parallel.WallFacer}, {@link dev.longbow.parallel.Fpdt},
 * {@link dev.longbow.parallel.Hybrid}) that validates a shape on a number of ranks, says where
 * each rank's tokens sit ({@link dev.longbow.parallel.SequenceLayout}) and builds a rank's
 * {@link dev.longbow.parallel.SequenceParallelAttention}.
 * {@link dev.longbow.parallel.SequenceLayout#shard} and {@link dev.longbow.parallel.SequenceLayout#gather}
 * cut a whole sequence into a rank's rows and put results back;
 * {@link dev.longbow.parallel.AttentionBuffers} holds one call's tensors.
 */
package dev.longbow.parallel;
