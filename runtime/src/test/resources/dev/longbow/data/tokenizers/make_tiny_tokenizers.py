#!/usr/bin/env python3
"""Writes tiny-gpt2.json and tiny-llama3.json: small byte-level BPE tokenizers in Hugging Face's
tokenizer.json format, trained here (plain Python, no dependencies) on corpus.jsonl with 400 merges.

tiny-gpt2.json has GPT-2's layout (ByteLevel pre-tokenizer with its regex, merges as "a b");
tiny-llama3.json has Llama 3's (a Split regex then ByteLevel without regex, ignore_merges, merges
as ["a", "b"] pairs) plus an NFKC normalizer. Both carry added tokens. The expected ids for them
come from the reference implementation, not from this script: see make-fixtures.sh."""
import collections
import json
import os

here = os.path.dirname(os.path.abspath(__file__))


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def main():
    b2u = bytes_to_unicode()
    texts = [json.loads(line)["text"] for line in open(os.path.join(here, "corpus.jsonl"), encoding="utf-8")]
    # Training words: whitespace-separated, each with its leading space, as byte-level characters.
    words = collections.Counter()
    for t in texts:
        for i, w in enumerate(t.split(" ")):
            w = (" " if i else "") + w
            if w:
                words[tuple(b2u[b] for b in w.encode("utf-8"))] += 1
    vocab = {}
    for b in range(256):
        vocab[b2u[b]] = len(vocab)
    merges = []
    for _ in range(400):
        pairs = collections.Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        (a, b), _count = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        merges.append((a, b))
        vocab.setdefault(a + b, len(vocab))
        merged = collections.Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] += c
        words = merged
    added = ["<|endoftext|>", "<|fim_prefix|>", "<|begin_of_text|>"]
    added_tokens = [{"id": len(vocab) + i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                     "normalized": False, "special": True} for i, t in enumerate(added)]
    gpt2 = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added_tokens, "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": [a + " " + b for a, b in merges]},
    }
    llama3_regex = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
    llama3 = dict(gpt2)
    llama3["normalizer"] = {"type": "NFKC"}
    llama3["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": llama3_regex}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    llama3["model"] = dict(gpt2["model"], ignore_merges=True, merges=[[a, b] for a, b in merges])
    for name, tok in [("tiny-gpt2.json", gpt2), ("tiny-llama3.json", llama3)]:
        with open(os.path.join(here, name), "w", encoding="utf-8") as f:
            json.dump(tok, f, ensure_ascii=False, indent=1)
            f.write("\n")


main()
