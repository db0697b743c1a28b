/**
 * Training data: {@link dev.longbow.data.Tokenizer}s (tiktoken vocabularies shipped inside the
 * runtime, or a Hugging Face {@code tokenizer.json}), text corpora from files, folders, zips and
 * JSONL ({@link dev.longbow.data.TextDocuments}, {@link dev.longbow.data.TextCorpus}) with a
 * held-out split, and the synthetic passkey-retrieval task ({@link dev.longbow.data.PasskeyTask}).
 * A {@link dev.longbow.data.SequenceSource} hands out sequences and can resume where a checkpoint
 * left it.
 */
package dev.longbow.data;
