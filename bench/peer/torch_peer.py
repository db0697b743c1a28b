"""The peer's side of bench/side-by-side.sh: PyTorch on the CPU, same line protocol as Longbow's
dev.longbow.bench.sidebyside.LongbowPeerServer (one command a line, one line of milliseconds per
repetition back), so the driver interleaves the two round by round.

    attn S D fwd|fwdbwd REPS   B=1, H=8, fp32, causal scaled_dot_product_attention on [1, H, S, D]
    train PRESET SEQ REPS      one AdamW step of the same Llama, the same chunked loss
    quit

Runs inside the Debian trixie root of bench/peer/make-root.sh with the thread count as its
argument; the driver sets OMP_NUM_THREADS, OPENBLAS_NUM_THREADS=1, OPENBLAS_CORETYPE=SkylakeX and
GLIBC_TUNABLES (see bench/side-by-side.sh).
"""
import math
import sys
import time

import torch
import torch.nn.functional as F

HEADS = 8
VOCAB = 50257
LOGIT_CHUNK = 256  # Longbow's default --logit-chunk
# dev.longbow.model.ModelConfig: dim, layers, heads, kv heads, head dim, ffn hidden; theta 1e4, eps 1e-5, tied head.
PRESETS = {"tiny": (64, 2, 4, 2, 16, 192), "small": (128, 4, 8, 4, 16, 352)}


class RmsNorm(torch.nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(seq, head_dim, theta=10000.0):
    inv = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    angles = torch.outer(torch.arange(seq, dtype=torch.float64), inv)
    return angles.cos().float(), angles.sin().float()


def rope(x, cos, sin):
    """Rotates the pairs (2i, 2i+1) of x [S, H, D] by position, as Longbow's rope does."""
    even, odd = x[..., 0::2], x[..., 1::2]
    c, s = cos[:, None, :], sin[:, None, :]
    return torch.stack((even * c - odd * s, even * s + odd * c), dim=-1).flatten(-2)


class Layer(torch.nn.Module):
    def __init__(self, dim, heads, kv_heads, head_dim, hidden):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, head_dim
        self.attn_norm, self.mlp_norm = RmsNorm(dim), RmsNorm(dim)
        self.wq = torch.nn.Linear(dim, heads * head_dim, bias=False)
        self.wk = torch.nn.Linear(dim, kv_heads * head_dim, bias=False)
        self.wv = torch.nn.Linear(dim, kv_heads * head_dim, bias=False)
        self.wo = torch.nn.Linear(heads * head_dim, dim, bias=False)
        self.gate = torch.nn.Linear(dim, hidden, bias=False)
        self.up = torch.nn.Linear(dim, hidden, bias=False)
        self.down = torch.nn.Linear(hidden, dim, bias=False)

    def forward(self, x, cos, sin):
        s = x.shape[0]
        n = self.attn_norm(x)
        q = rope(self.wq(n).view(s, self.heads, self.head_dim), cos, sin)
        k = rope(self.wk(n).view(s, self.kv_heads, self.head_dim), cos, sin)
        v = self.wv(n).view(s, self.kv_heads, self.head_dim)
        group = self.heads // self.kv_heads
        # [1, H, S, D]; the key/value heads repeated for the query heads they serve (grouped-query attention).
        q = q.transpose(0, 1).unsqueeze(0)
        k = k.repeat_interleave(group, dim=1).transpose(0, 1).unsqueeze(0)
        v = v.repeat_interleave(group, dim=1).transpose(0, 1).unsqueeze(0)
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        h = x + self.wo(att.squeeze(0).transpose(0, 1).reshape(s, -1))
        n2 = self.mlp_norm(h)
        return h + self.down(F.silu(self.gate(n2)) * self.up(n2))


class Llama(torch.nn.Module):
    def __init__(self, preset, seq):
        super().__init__()
        dim, layers, heads, kv_heads, head_dim, hidden = PRESETS[preset]
        self.embedding = torch.nn.Embedding(VOCAB, dim)
        torch.nn.init.normal_(self.embedding.weight, std=0.02)
        self.layers = torch.nn.ModuleList(Layer(dim, heads, kv_heads, head_dim, hidden) for _ in range(layers))
        self.final_norm = RmsNorm(dim)
        self.cos, self.sin = rope_tables(seq, head_dim)

    def body(self, tokens):
        x = self.embedding(tokens)
        for layer in self.layers:
            x = layer(x, self.cos, self.sin)
        return self.final_norm(x)


class Trainer:
    """One step: forward, the loss chunk by chunk with the head's forward and backward fused per
    chunk (so no chunk's logits outlive it, as in Longbow's Llama.head), the body's backward, the
    global gradient norm clipped to 1, one AdamW update."""

    def __init__(self, preset, seq):
        torch.manual_seed(1234)
        self.model = Llama(preset, seq)
        params = list(self.model.parameters())
        try:
            self.opt = torch.optim.AdamW(params, lr=3e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1, fused=True)
        except (RuntimeError, TypeError):
            self.opt = torch.optim.AdamW(params, lr=3e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1, foreach=True)
        g = torch.Generator().manual_seed(7)
        self.tokens = torch.randint(0, VOCAB, (seq,), generator=g)
        self.targets = torch.randint(0, VOCAB, (seq,), generator=g)

    def step(self):
        self.opt.zero_grad(set_to_none=False)
        n = self.model.body(self.tokens)
        n_detached = n.detach().requires_grad_()
        head = self.model.embedding.weight
        scale = 1.0 / self.targets.numel()
        for r0 in range(0, n.shape[0], LOGIT_CHUNK):
            logits = n_detached[r0:r0 + LOGIT_CHUNK] @ head.t()
            loss = F.cross_entropy(logits, self.targets[r0:r0 + LOGIT_CHUNK], reduction="sum") * scale
            loss.backward()
        n.backward(n_detached.grad)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()


class Attention:
    def __init__(self, s, d):
        g = torch.Generator().manual_seed(42)
        make = lambda: torch.rand(1, HEADS, s, d, generator=g) * 2 - 1
        self.q, self.k, self.v, self.dout = make(), make(), make(), make()
        self.leaves = [t.clone().requires_grad_() for t in (self.q, self.k, self.v)]

    def forward(self):
        with torch.no_grad():
            F.scaled_dot_product_attention(self.q, self.k, self.v, is_causal=True)

    def forward_backward(self):
        for t in self.leaves:
            t.grad = None
        out = F.scaled_dot_product_attention(*self.leaves, is_causal=True)
        out.backward(self.dout)


def timed(fn, reps):
    millis = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        millis.append((time.perf_counter() - start) * 1e3)
    return millis


def main():
    torch.set_num_threads(int(sys.argv[1]))
    state, key = None, None
    print("ready", flush=True)
    for line in sys.stdin:
        w = line.split()
        if not w or w[0] == "quit":
            break
        if w[0] == "attn":
            s, d, p, reps = int(w[1]), int(w[2]), w[3], int(w[4])
            if key != ("attn", s, d):
                state, key = None, None
                state, key = Attention(s, d), ("attn", s, d)
            millis = timed(state.forward if p == "fwd" else state.forward_backward, reps)
        elif w[0] == "train":
            preset, seq, reps = w[1], int(w[2]), int(w[3])
            if key != ("train", preset, seq):
                state, key = None, None
                state, key = Trainer(preset, seq), ("train", preset, seq)
            millis = timed(state.step, reps)
        else:
            raise SystemExit("unknown command: " + line)
        print(" ".join("%.3f" % m for m in millis), flush=True)


if __name__ == "__main__":
    main()
