/**
 * The Llama-style decoder trained on one rank's shard of a sequence: its shape
 * ({@link dev.longbow.model.ModelConfig}), weights ({@link dev.longbow.model.Weights}, named as
 * Hugging Face names them), forward and backward ({@link dev.longbow.model.Llama}) with a
 * sequence-parallel attention in every layer, and generation through a KV cache
 * ({@link dev.longbow.model.KvCacheDecoder}, {@link dev.longbow.model.Sampling}).
 */
package dev.longbow.model;
