#!/usr/bin/env python3
"""An independent forward pass of a Hugging Face Llama model folder, in float64 numpy, written from
transformers' modeling_llama.py (LlamaForCausalLM) and the safetensors format; nothing is shared
with Longbow. For each folder given it reads config.json, model.safetensors (or the shards listed in
model.safetensors.index.json) and tokens.json ({"input_ids": [...], "labels": [...]}, labels -100 =
ignored, as HF's loss shifts them: position i predicts labels[i + 1]), and writes reference-loss.json
with the mean cross-entropy.

The rules followed, each as modeling_llama.py has them:
- LlamaRMSNorm: x * rsqrt(mean(x^2) + rms_norm_eps), then times weight.
- LlamaRotaryEmbedding (rope_type "default"): inv_freq = 1 / theta^(arange(0, head_dim, 2) / head_dim),
  emb = cat(freqs, freqs); q * cos + rotate_half(q) * sin with rotate_half(x) = cat(-x2, x1) over
  the two halves of the head dimension. q_proj / k_proj weights are used as stored (the checkpoint
  layout HF's conversion script produces for this convention).
- Attention: q [heads, head_dim], k/v [num_key_value_heads, head_dim] repeated by repeat_kv
  (each kv head serves heads / kv_heads consecutive query heads), scale head_dim^-0.5, causal mask.
- LlamaMLP: down_proj(silu(gate_proj(x)) * up_proj(x)); nn.Linear weights are [out, in]: y = x W^T.
- lm_head, or model.embed_tokens when tie_word_embeddings; loss = mean CE over labels != -100.

  python3 hf_llama_reference.py FOLDER...
"""
import json
import os
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        begin, end = spec["data_offsets"]
        if spec["dtype"] == "BF16":
            bits = np.frombuffer(data[begin:end], dtype="<u2").astype(np.uint32) << 16
            values = bits.view(np.float32)
        else:
            values = np.frombuffer(data[begin:end], dtype=np.dtype(DTYPES[spec["dtype"]]).newbyteorder("<"))
        out[name] = values.astype(np.float64).reshape(spec["shape"])
    return out


def read_weights(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        weights = {}
        for shard in sorted(set(json.load(open(index))["weight_map"].values())):
            weights.update(read_safetensors(os.path.join(folder, shard)))
        return weights
    return read_safetensors(os.path.join(folder, "model.safetensors"))


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def forward_loss(cfg, w, input_ids, labels):
    heads = cfg["num_attention_heads"]
    kv_heads = cfg.get("num_key_value_heads", heads)
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // heads
    eps = cfg.get("rms_norm_eps", 1e-6)
    theta = cfg.get("rope_theta", 10000.0)
    assert cfg.get("rope_scaling") is None and cfg.get("hidden_act", "silu") == "silu"
    s = len(input_ids)
    x = w["model.embed_tokens.weight"][input_ids]
    inv_freq = 1.0 / theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    freqs = np.outer(np.arange(s, dtype=np.float64), inv_freq)
    emb = np.concatenate([freqs, freqs], axis=-1)
    cos, sin = np.cos(emb)[:, None, :], np.sin(emb)[:, None, :]
    mask = np.triu(np.full((s, s), -np.inf), k=1)
    for layer in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % layer
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).reshape(s, heads, head_dim)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).reshape(s, kv_heads, head_dim)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).reshape(s, kv_heads, head_dim)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = np.repeat(k, heads // kv_heads, axis=1)   # repeat_kv
        v = np.repeat(v, heads // kv_heads, axis=1)
        scores = np.einsum("qhd,khd->hqk", q, k) * head_dim ** -0.5 + mask
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        probs = scores / scores.sum(axis=-1, keepdims=True)
        att = np.einsum("hqk,khd->qhd", probs, v).reshape(s, heads * head_dim)
        x = x + att @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = h @ w[p + "mlp.gate_proj.weight"].T
        up = h @ w[p + "mlp.up_proj.weight"].T
        x = x + (gate / (1 + np.exp(-gate)) * up) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else w["lm_head.weight"]
    logits = x @ head.T
    # HF's causal LM loss: logits at i against labels at i + 1.
    logits, targets = logits[:-1], np.array(labels[1:])
    keep = targets != -100
    logz = np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1)) + logits.max(-1)
    losses = logz - logits[np.arange(len(targets)), np.where(keep, targets, 0)]
    return float(losses[keep].mean()), int(keep.sum())


def main():
    for folder in sys.argv[1:]:
        cfg = json.load(open(os.path.join(folder, "config.json")))
        tokens = json.load(open(os.path.join(folder, "tokens.json")))
        loss, count = forward_loss(cfg, read_weights(folder), tokens["input_ids"], tokens["labels"])
        with open(os.path.join(folder, "reference-loss.json"), "w") as f:
            json.dump({"loss": loss, "targets": count, "by": "hf_llama_reference.py, float64 numpy " + np.__version__}, f)
            f.write("\n")
        print(folder, loss, count)


main()
