/**
 * Checkpoints: a run's parameters and optimizer state in safetensors files
 * ({@link dev.longbow.checkpoint.SafeTensors}) with CRC-32C checksums and metadata, written
 * atomically into a folder that keeps a run's newest few ({@link dev.longbow.checkpoint.Checkpoint},
 * {@link dev.longbow.checkpoint.CheckpointFolder}); a corrupt or foreign file is refused before
 * it is loaded. {@link dev.longbow.checkpoint.Json} is the small JSON reader and writer they use.
 */
package dev.longbow.checkpoint;
