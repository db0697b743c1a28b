/**
 * Hugging Face interchange: read a {@code LlamaForCausalLM} folder's {@code config.json} and
 * weights ({@link dev.longbow.hf.HfConfig}, {@link dev.longbow.hf.HfWeights}) to start training from
 * them, and export a checkpoint as such a folder ({@link dev.longbow.hf.HfExport}).
 */
package dev.longbow.hf;
