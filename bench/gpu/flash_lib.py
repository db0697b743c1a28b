"""Launches Longbow's flash-attention PTX (kernels-ptx/src/main/cuda/FLASH_ABI.md) on torch tensors.

CuPy loads the PTX (the driver compiles it for the GPU at hand) and launches the kernels on the
legacy default stream, which torch also uses, so torch's CUDA events time them in order.
"""
import math
import os
import subprocess

import cupy
import numpy as np
import torch

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CUDA_DIR = os.path.join(REPO, "kernels-ptx", "src", "main", "cuda")
PTX_DIR = os.path.join(REPO, "kernels-ptx", "src", "main", "resources", "dev", "longbow", "kernels")

# Forward tile per head dim (FLASH_ABI.md): warps per CTA, 16-row m-tiles per warp, keys per step.
FWD_DEFAULT = {128: (8, 1, 128), 64: (4, 2, 64)}
BWD_BM, BWD_BN, BWD_THREADS = 64, 128, 256
NAMES = {torch.bfloat16: "bf16", torch.float16: "f16"}


def committed_ptx(kernel_file, arch="sm_90"):
    return os.path.join(PTX_DIR, f"{kernel_file}.{arch}.ptx")


def build_variant(out_dir, kernel_file, defines, arch="sm_90"):
    """Compiles KERNEL_FILE.cu with extra -D definitions (e.g. FWD_D128_BN=128); returns the PTX path."""
    tag = "_".join(d.replace("=", "") for d in defines) or "default"
    path = os.path.join(out_dir, f"{kernel_file}_{tag}.{arch}.ptx")
    subprocess.run(["nvcc", "-std=c++17", f"-arch={arch}", "-ptx", "-o", path]
                   + [f"-D{d}" for d in defines] + [os.path.join(CUDA_DIR, f"{kernel_file}.cu")], check=True)
    return path


def _p(t):
    return np.uint64(t.data_ptr())


class Flash:
    def __init__(self, fwd_ptx, bwd_ptx, fwd_cfg=None):
        self.fwd_mod = cupy.RawModule(path=fwd_ptx)
        self.bwd_mod = cupy.RawModule(path=bwd_ptx)
        self.fwd_cfg = {**FWD_DEFAULT, **(fwd_cfg or {})}
        self._kernels = {}

    def _kernel(self, mod, name, smem):
        kern = self._kernels.get(name)
        if kern is None:
            kern = mod.get_function(name)
            self._kernels[name] = kern
        if smem > 48 * 1024 and kern.max_dynamic_shared_size_bytes < smem:
            kern.max_dynamic_shared_size_bytes = smem
        return kern

    def forward(self, q, k, v, out, lse, scale, causal, q_start=0, k_start=0):
        sq, hq, d = q.shape
        sk, hkv, _ = k.shape
        nw, mt, bn = self.fwd_cfg[d]
        bm = 16 * nw * mt
        smem = (bm + 2 * bn) * d * 2
        name = f"flash_fwd_{NAMES[q.dtype]}_d{d}" + ("_f32out" if out.dtype == torch.float32 else "")
        kern = self._kernel(self.fwd_mod, name, smem)
        kern((((sq + bm - 1) // bm) * hq,), (nw * 32,),
             (_p(q), _p(k), _p(v), _p(out), _p(lse), np.int32(sq), np.int32(sk), np.int32(hq),
              np.int32(hkv), np.float32(scale), np.int32(1 if causal else 0),
              np.int64(q_start), np.int64(k_start)), shared_mem=smem)

    def backward(self, q, k, v, out, lse, dout, dq, dk, dv, delta, scale, causal, q_start=0, k_start=0):
        """Adds this block's gradients to fp32 dq, dk, dv; delta is [Sq, Hq] fp32 scratch."""
        sq, hq, d = q.shape
        sk, hkv, _ = k.shape
        dt = NAMES[q.dtype]
        delta_kern = self._kernel(self.bwd_mod, f"flash_bwd_delta_{dt}", 0)
        pairs = sq * hq
        delta_kern(((pairs + 7) // 8,), (256,),
                   (_p(out), _p(dout), _p(delta), np.int32(sq), np.int32(hq), np.int32(d)))
        smem = (2 * BWD_BN * d + 4 * BWD_BM * d + 2 * BWD_BM * BWD_BN) * 2 + 4 * BWD_BM * 4
        kern = self._kernel(self.bwd_mod, f"flash_bwd_{dt}_d{d}", smem)
        kern((((sk + BWD_BN - 1) // BWD_BN) * hkv,), (BWD_THREADS,),
             (_p(q), _p(k), _p(v), _p(dout), _p(lse), _p(delta), _p(dq), _p(dk), _p(dv),
              np.int32(sq), np.int32(sk), np.int32(hq), np.int32(hkv), np.float32(scale),
              np.int32(1 if causal else 0), np.int64(q_start), np.int64(k_start)), shared_mem=smem)


def reference(q, k, v, dout, scale, causal, q_start=0, k_start=0):
    """float64 attention and its gradients by the textbook formulas (rows seeing no key: out 0, lse -inf)."""
    q64, k64, v64, do64 = (x.double() for x in (q, k, v, dout))
    sq, hq, d = q.shape
    sk, hkv, _ = k.shape
    group = hq // hkv
    kx = k64.repeat_interleave(group, dim=1)  # [Sk, Hq, D]
    vx = v64.repeat_interleave(group, dim=1)
    s = torch.einsum("ihd,jhd->hij", q64, kx) * scale
    if causal:
        i = torch.arange(sq, device=q.device).view(-1, 1) + q_start
        j = torch.arange(sk, device=q.device).view(1, -1) + k_start
        s = s.masked_fill((j > i).unsqueeze(0), float("-inf"))
    lse = torch.logsumexp(s, dim=-1)  # [Hq, Sq], -inf where a row sees nothing
    p = torch.exp(s - lse.unsqueeze(-1).masked_fill(torch.isinf(lse).unsqueeze(-1), 0.0))
    p = torch.nan_to_num(p, nan=0.0)
    out = torch.einsum("hij,jhd->ihd", p, vx)
    dp = torch.einsum("ihd,jhd->hij", do64, vx)
    delta = (do64 * out).sum(-1).transpose(0, 1)  # [Hq, Sq]
    ds = p * (dp - delta.unsqueeze(-1))
    dq = torch.einsum("hij,jhd->ihd", ds, kx) * scale
    dkx = torch.einsum("hij,ihd->jhd", ds, q64) * scale
    dvx = torch.einsum("hij,ihd->jhd", p, do64)
    dk = dkx.view(sk, hkv, group, d).sum(2)
    dv = dvx.view(sk, hkv, group, d).sum(2)
    return out, lse.transpose(0, 1).contiguous(), dq, dk, dv


def rel_err(x, ref):
    x, ref = x.double(), ref.double()
    if not torch.isfinite(x).all():
        return float("nan")
    den = ref.norm().item()
    return (x - ref).norm().item() / (den if den > 0 else 1.0)


def causal_flops(s, h, d):
    """Forward FLOPs of causal attention over the full square (half of 4*S*S*D*H)."""
    return 2.0 * s * s * d * h


def default_scale(d):
    return 1.0 / math.sqrt(d)
